package knowledge_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/knowledge"
	"parley/knowledge/llm"
	"parley/knowledge/llm/llmtest"
)

// openEmbedding opens a store at path whose embeddings come from srv through
// the real go-openai client.
func openEmbedding(t *testing.T, path string, srv *llmtest.Server, e knowledge.Embedding, opts ...knowledge.Option) *knowledge.Store {
	t.Helper()
	if e.Embedder == nil {
		e.Embedder = llm.New(llm.Config{BaseURL: srv.URL, EmbedModel: e.Model, MaxRetries: -1, Timeout: 5 * time.Second})
	}
	opts = append([]knowledge.Option{
		knowledge.WithClock(func() time.Time { return time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC) }),
		knowledge.WithEmbedding(e),
	}, opts...)
	s, err := knowledge.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// markerVectors embeds a text by which of the marker words it holds, so a
// test can decide which passages the "model" finds close to the question.
type markerVectors struct {
	mu   sync.Mutex
	vecs map[string][]float32
}

func (m *markerVectors) embed(text string) []float32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	for marker, v := range m.vecs {
		if strings.Contains(text, marker) {
			return v
		}
	}
	return []float32{0, 0, 1}
}

func (m *markerVectors) set(marker string, v ...float32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vecs[marker] = v
}

// addThree adds three dated articles about the talks, each with a marker
// word, and returns their ids by marker.
func addThree(t *testing.T, s *knowledge.Store) map[int64]string {
	t.Helper()
	ids := make(map[int64]string)
	for _, a := range []struct{ marker, title, text string }{
		{"alpha", "Ceasefire talks: the weekly digest", "Ceasefire talks, ceasefire proposals and more ceasefire talks filled the week, says the alpha digest."},
		{"bravo", "Mediators gather in Doha", "Negotiators met in Doha on Monday. The ceasefire talks resumed there after a pause, bravo sources said, with Qatar and Egypt mediating between the delegations for most of the day."},
		{"charlie", "Markets shrug", "Traders in the charlie report barely noticed the ceasefire talks as shares rose for a third day, lifted by earnings from large banks and a calmer bond market across the region."},
	} {
		art := mustAdd(t, s, knowledge.NewArticle{Title: a.title, Text: a.text, Outlet: "Test Wire",
			PublishedAt: date("2025-03-01"), Origin: knowledge.OriginText})
		ids[art.ID] = a.marker
	}
	return ids
}

func markers(res []knowledge.Result, ids map[int64]string) []string {
	var out []string
	for _, r := range res {
		out = append(out, ids[r.ArticleID])
	}
	return out
}

// rerankQuestion is the question the reranking tests ask of addThree's
// articles.
const rerankQuestion = "Where are the ceasefire talks?"

// rerankFixture is a store at path with addThree's articles, not yet
// embedded, whose model finds full text's second result for rerankQuestion
// closest to it, its third next, and its first farthest.
type rerankFixture struct {
	srv   *llmtest.Server
	path  string
	store *knowledge.Store
	ids   map[int64]string
	order []string // the markers in full-text order
}

func newRerankFixture(t *testing.T) rerankFixture {
	t.Helper()
	f := rerankFixture{srv: llmtest.New(t), path: filepath.Join(t.TempDir(), "parley.db")}
	m := &markerVectors{vecs: map[string][]float32{}}
	f.srv.Embed = m.embed
	f.store = openEmbedding(t, f.path, f.srv, knowledge.Embedding{Model: "fake-embed"})
	f.ids = addThree(t, f.store)
	lexical, err := f.store.Search(t.Context(), rerankQuestion, knowledge.SearchOptions{FullTextOnly: true})
	if err != nil || len(lexical) != 3 {
		t.Fatalf("full-text search: %v, %d results", err, len(lexical))
	}
	f.order = markers(lexical, f.ids)
	m.set(f.order[1], 1, 0, 0)
	m.set(f.order[2], 0.6, 0.8, 0)
	m.set(f.order[0], 0, 1, 0)
	m.set("ceasefire talks?", 1, 0, 0) // the question
	return f
}

func TestEmbeddingsRerankByReciprocalRank(t *testing.T) {
	ctx := t.Context()
	f := newRerankFixture(t)
	srv, s, ids, order, q := f.srv, f.store, f.ids, f.order, rerankQuestion

	// Before any vectors exist, search is full text alone.
	before, err := s.Search(ctx, q, knowledge.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := markers(before, ids); strings.Join(got, " ") != strings.Join(order, " ") {
		t.Errorf("without vectors: got %v, want the full-text order %v", got, order)
	}

	sum, err := s.EmbedPending(ctx, nil)
	if err != nil {
		t.Fatalf("EmbedPending: %v", err)
	}
	if sum.Embedded != 3 || sum.Left != 0 || sum.Dims != 3 || sum.Model != "fake-embed" {
		t.Errorf("EmbedPending: got %+v, want 3 embedded, 0 left, 3 dims", sum)
	}
	got, err := s.Search(ctx, q, knowledge.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Reciprocal rank fusion puts full text's second result first:
	// 1/62+1/61 beats 1/61+1/63.
	want := []string{order[1], order[0], order[2]}
	if g := markers(got, ids); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Errorf("fused order: got %v, want %v (full text %v)", g, want, order)
	}
	for _, r := range got {
		if r.Text == "" || r.Title == "" {
			t.Errorf("result %d has no text or title after reranking", r.PassageID)
		}
	}
	// FullTextOnly still gives the lexical order, for comparisons.
	again, err := s.Search(ctx, q, knowledge.SearchOptions{FullTextOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if g := markers(again, ids); strings.Join(g, " ") != strings.Join(order, " ") {
		t.Errorf("FullTextOnly: got %v, want %v", g, order)
	}

	// A second backfill has nothing to do and makes no request.
	calls := srv.EmbedCalls()
	if sum, err := s.EmbedPending(ctx, nil); err != nil || sum.Embedded != 0 || sum.Left != 0 {
		t.Errorf("second EmbedPending: got %+v, %v; want nothing to do", sum, err)
	}
	if srv.EmbedCalls() != calls {
		t.Errorf("second EmbedPending sent %d requests, want none", srv.EmbedCalls()-calls)
	}
	// The question's vector is cached: asking again costs no request.
	if _, err := s.Search(ctx, q, knowledge.SearchOptions{}); err != nil {
		t.Fatal(err)
	}
	if srv.EmbedCalls() != calls {
		t.Errorf("a repeated question was embedded again")
	}
}

// Embedding.Weight sets the similarity order's share in the fusion: below
// 1 full text's order can hold against it, above 1 it takes over.
func TestEmbeddingsWeightSetsTheSimilarityShare(t *testing.T) {
	ctx := t.Context()
	f := newRerankFixture(t)
	order := f.order
	if _, err := f.store.EmbedPending(ctx, nil); err != nil {
		t.Fatalf("EmbedPending: %v", err)
	}
	for _, c := range []struct {
		weight float64
		want   []string
	}{
		// 1/61 + 0.5/63 beats 1/62 + 0.5/61: full text's order stands.
		{0.5, order},
		{0, []string{order[1], order[0], order[2]}}, // the default, 1
		// 1/63 + 3/62 beats 1/61 + 3/63: similarity's order wins.
		{3, []string{order[1], order[2], order[0]}},
	} {
		ws := openEmbedding(t, f.path, f.srv, knowledge.Embedding{Model: "fake-embed", Weight: c.weight})
		got, err := ws.Search(ctx, rerankQuestion, knowledge.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if g := markers(got, f.ids); strings.Join(g, " ") != strings.Join(c.want, " ") {
			t.Errorf("weight %g: got %v, want %v (full text %v)", c.weight, g, c.want, order)
		}
	}
}

func TestEmbeddingsFailureFallsBackToFullText(t *testing.T) {
	ctx := t.Context()
	srv := llmtest.New(t)
	var logs bytes.Buffer
	s := openEmbedding(t, filepath.Join(t.TempDir(), "parley.db"), srv, knowledge.Embedding{Model: "fake-embed"},
		knowledge.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ids := addThree(t, s)
	if _, err := s.EmbedPending(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st := s.EmbeddingStats(); st.Embedded != 3 || st.Fallbacks != 0 {
		t.Errorf("stats after the backfill: %+v, want 3 embedded, no fallback", st)
	}
	srv.EmbedStatus = 500
	const q = "Which markets noticed the talks?"
	got, err := s.Search(ctx, q, knowledge.SearchOptions{})
	if err != nil {
		t.Fatalf("search with a failing endpoint: %v", err)
	}
	want, err := s.Search(ctx, q, knowledge.SearchOptions{FullTextOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := markers(got, ids), markers(want, ids); len(g) == 0 || strings.Join(g, " ") != strings.Join(w, " ") {
		t.Errorf("failing endpoint: got %v, want the full-text results %v", g, w)
	}
	if st := s.EmbeddingStats(); st.Fallbacks != 1 {
		t.Errorf("stats after a failing search: %+v, want 1 fallback", st)
	}
	// After a failure the endpoint is left alone for a while: the next
	// search neither waits for it nor calls it.
	calls := srv.EmbedCalls()
	if _, err := s.Search(ctx, "Where are the ceasefire talks held?", knowledge.SearchOptions{}); err != nil {
		t.Fatal(err)
	}
	if srv.EmbedCalls() != calls || s.EmbeddingStats().Fallbacks != 2 {
		t.Errorf("a search right after a failure called the endpoint (%d calls) or was not counted (%+v)",
			srv.EmbedCalls()-calls, s.EmbeddingStats())
	}
	if !strings.Contains(logs.String(), "search without embeddings") || !strings.Contains(logs.String(), "500") {
		t.Errorf("the fallback was not logged with its cause:\n%s", logs.String())
	}

	// A failing backfill reports the endpoint's error and stores nothing.
	mustAdd(t, s, knowledge.NewArticle{Title: "Later news", Text: "The delegations left Doha without a deal.", Origin: knowledge.OriginText})
	sum, err := s.EmbedPending(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("EmbedPending with a failing endpoint: got %v, want the status in the error", err)
	}
	if sum.Embedded != 0 || sum.Left != 1 {
		t.Errorf("EmbedPending with a failing endpoint: got %+v, want 0 embedded, 1 left", sum)
	}
}

func TestEmbeddingsModelChangeAndPrefixes(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "parley.db")
	srv := llmtest.New(t)
	s := openEmbedding(t, path, srv, knowledge.Embedding{Model: "model-a"})
	addThree(t, s)
	if _, err := s.EmbedPending(ctx, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Another model ignores model-a's vectors and replaces them.
	s = openEmbedding(t, path, srv, knowledge.Embedding{Model: "model-b",
		QueryPrefix: "search_query: ", DocumentPrefix: "search_document: "})
	if with, total, err := s.VectorCoverage(ctx); err != nil || with != 0 || total != 3 {
		t.Fatalf("coverage for a new model: got %d of %d, %v; want 0 of 3", with, total, err)
	}
	sent := len(srv.Embedded())
	var progress []int
	sum, err := s.EmbedPending(ctx, func(done, left int) { progress = append(progress, done, left) })
	if err != nil || sum.Embedded != 3 {
		t.Fatalf("EmbedPending for model-b: %+v, %v", sum, err)
	}
	if len(progress) != 2 || progress[0] != 3 || progress[1] != 0 {
		t.Errorf("progress: got %v, want one call (3 done, 0 left)", progress)
	}
	if _, err := s.Search(ctx, "ceasefire talks in Doha", knowledge.SearchOptions{}); err != nil {
		t.Fatal(err)
	}
	texts := srv.Embedded()[sent:]
	if len(texts) != 4 {
		t.Fatalf("sent %d texts, want 3 passages and 1 question: %q", len(texts), texts)
	}
	for _, text := range texts[:3] {
		if !strings.HasPrefix(text, "search_document: ") {
			t.Errorf("passage sent without the document prefix: %q", text)
		}
	}
	if texts[3] != "search_query: ceasefire talks in Doha" {
		t.Errorf("question sent as %q, want it with the query prefix", texts[3])
	}
	s.Close()

	s = openEmbedding(t, path, srv, knowledge.Embedding{Model: "model-a"})
	if with, _, err := s.VectorCoverage(ctx); err != nil || with != 0 {
		t.Errorf("model-a's vectors should have been replaced by model-b's: %d left, %v", with, err)
	}
}

func TestEmbeddingsRejectMismatchedVectors(t *testing.T) {
	srv := llmtest.New(t)
	srv.Embed = func(text string) []float32 {
		if strings.Contains(text, "Doha") {
			return []float32{1, 2, 3, 4}
		}
		return []float32{1, 2, 3}
	}
	s := openEmbedding(t, filepath.Join(t.TempDir(), "parley.db"), srv, knowledge.Embedding{Model: "fake-embed"})
	addThree(t, s)
	_, err := s.EmbedPending(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "dimensions") {
		t.Errorf("vectors of two lengths: got %v, want a dimensions error", err)
	}

	srv.Embed = func(string) []float32 { return []float32{0, 0} }
	if _, err := s.EmbedPending(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "zero") {
		t.Errorf("zero vectors: got %v, want an error", err)
	}
}

func TestEmbeddingsNeedConfiguration(t *testing.T) {
	s := mustOpen(t)
	if _, err := s.EmbedPending(t.Context(), nil); !errors.Is(err, knowledge.ErrNoEmbedding) {
		t.Errorf("EmbedPending without a model: got %v, want ErrNoEmbedding", err)
	}
	if s.EmbeddingModel() != "" {
		t.Errorf("EmbeddingModel without a model: got %q", s.EmbeddingModel())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s.RunEmbedder(ctx) // returns at once
}

func TestRunEmbedderEmbedsNewArticles(t *testing.T) {
	srv := llmtest.New(t)
	s := openEmbedding(t, filepath.Join(t.TempDir(), "parley.db"), srv, knowledge.Embedding{Model: "fake-embed"})
	addThree(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); s.RunEmbedder(ctx) }()
	defer func() { cancel(); <-done }()

	waitCoverage := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			with, total, err := s.VectorCoverage(t.Context())
			if err == nil && with == want && total == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("coverage: %d of %d (%v), want %d of %d", with, total, err, want, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitCoverage(3)
	mustAdd(t, s, knowledge.NewArticle{Title: "Later news", Text: "The delegations left Doha without a deal.", Origin: knowledge.OriginText})
	waitCoverage(4)
}
