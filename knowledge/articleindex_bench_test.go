package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
)

// BenchmarkArticleIndexBuild times building the article index from
// nothing for a store of BenchmarkImport's 3,000 generated articles, the
// work an import adds for it, to weigh it against BenchmarkImport's bare
// inserts of the same text.
func BenchmarkArticleIndexBuild(b *testing.B) {
	const articles = 3000
	c := newSynthCorpus(3)
	var jsonl bytes.Buffer
	enc := json.NewEncoder(&jsonl)
	for i := range articles {
		enc.Encode(c.article(i, c.articleWords()))
	}
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "p.db")
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Import(ctx, &jsonl, ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		b.StopTimer()
		if err := s.articles.close(); err != nil {
			b.Fatal(err)
		}
		if err := removeArticleIndex(path); err != nil {
			b.Fatal(err)
		}
		if s.articles, err = openArticleIndex(ctx, path); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if n, err := s.articles.catchUp(ctx, s.reader, nil); err != nil || n != articles {
			b.Fatalf("caught up %d changes, %v; want %d", n, err, articles)
		}
	}
}
