package knowledge

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
	"time"
)

// randomEmbedder stands in for an embedding endpoint in benchmarks: each
// text gets a pseudo-random vector seeded by its hash, with no network in
// the way, so a benchmark measures what the store adds.
type randomEmbedder struct{ dims int }

func (e randomEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		h := fnv.New64a()
		h.Write([]byte(t))
		r := rand.New(rand.NewPCG(h.Sum64(), 1))
		v := make([]float32, e.dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		out[i] = v
	}
	return out, nil
}

// BenchmarkSearchEmbeddings times Search reranked by 768-dimension vectors
// beside full-text Search and the bare FTS5 query on the same store of
// 20,000 generated passages, every one with a vector. The question's
// embedding comes from an in-process stand-in, so the figures are the
// store's own cost; a real endpoint adds its latency for each new question.
func BenchmarkSearchEmbeddings(b *testing.B) {
	const passages, dims = 20_000, 768
	ctx := context.Background()
	emb := Embedding{Embedder: randomEmbedder{dims}, Model: "random-768", Batch: 256}
	s := benchStoreNamed(b, fmt.Sprintf("parley-bench-embed-%d.db", passages), passages, func(s *Store) {
		start := time.Now()
		sum, err := s.EmbedPending(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("embedded %d passages in %v", sum.Embedded, time.Since(start).Round(time.Millisecond))
	}, WithEmbedding(emb))

	c := newSynthCorpus(11)
	qs := make([]string, 300)
	for i := range qs {
		qs[i] = c.question()
	}
	timed := func(f func(q string) error) func(string) time.Duration {
		return func(q string) time.Duration {
			t0 := time.Now()
			if err := f(q); err != nil {
				b.Fatal(err)
			}
			return time.Since(t0)
		}
	}
	runs := []func(string) time.Duration{
		timed(func(q string) error { _, err := s.Search(ctx, q, SearchOptions{Limit: 10}); return err }),
		timed(func(q string) error {
			_, err := s.Search(ctx, q, SearchOptions{Limit: 10, FullTextOnly: true})
			return err
		}),
		timed(func(q string) error { _, err := s.BareSearch(ctx, q, 10); return err }),
	}
	lat := make([][]time.Duration, len(runs))
	for b.Loop() {
		for i, q := range qs {
			for k := range runs {
				j := (i + k) % len(runs) // rotate which goes first
				lat[j] = append(lat[j], runs[j](q))
			}
		}
	}
	b.ReportMetric(ms(pct(lat[0], 50)), "dense-p50-ms")
	b.ReportMetric(ms(pct(lat[0], 99)), "dense-p99-ms")
	b.ReportMetric(ms(pct(lat[1], 50)), "fulltext-p50-ms")
	b.ReportMetric(ms(pct(lat[2], 50)), "bare-p50-ms")
	b.ReportMetric(float64(pct(lat[0], 50))/float64(pct(lat[2], 50)), "dense/bare-p50")
}
