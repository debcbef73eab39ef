package knowledge

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Embedder turns texts into vectors, one per text in order. In production
// it is an OpenAI-compatible /embeddings endpoint (llm.Client.Embed).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Embedding configures optional dense retrieval. When a Store has one,
// Search reranks its full-text candidates by fusing their BM25 order with
// their similarity to the question (reciprocal rank fusion), and the store
// can embed its passages (EmbedPending, RunEmbedder). Without one, nothing
// changes: search is full-text only and no vectors are made.
type Embedding struct {
	Embedder Embedder
	// Model names the embedding model. It is stored with every vector, so
	// that vectors made by another model are never compared with this
	// one's; they are ignored and replaced by the next backfill.
	Model string
	// QueryPrefix and DocumentPrefix are put before questions and passages,
	// for models trained with instructions (nomic-embed-text wants
	// "search_query: " and "search_document: "). Usually empty.
	QueryPrefix, DocumentPrefix string
	// QueryTimeout bounds embedding a question; past it, or on any error,
	// the search goes on full-text only. 0 means 5 seconds.
	QueryTimeout time.Duration
	// Batch is how many passages go in one request to the endpoint; 0
	// means 64.
	Batch int
	// Weight is the similarity order's share in the fusion, against the
	// full-text order's 1; 0 means 1, the usual reciprocal rank fusion. A
	// general-purpose model not trained for search can do worse than full
	// text alone (see MEASUREMENTS.md): measure it with `parley eval rtqa`
	// and lower its weight.
	Weight float64
}

// WithEmbedding turns on dense reranking with e (see Embedding).
func WithEmbedding(e Embedding) Option {
	return func(s *Store) {
		if e.Embedder == nil || e.Model == "" {
			return
		}
		if e.QueryTimeout <= 0 {
			e.QueryTimeout = 5 * time.Second
		}
		if e.Batch <= 0 {
			e.Batch = 64
		}
		if e.Weight <= 0 {
			e.Weight = 1
		}
		s.embed = &embedState{Embedding: e, kick: make(chan struct{}, 1), cache: make(map[string][]float32)}
	}
}

// embedState is a store's embedding configuration and its run-time state.
type embedState struct {
	Embedding
	// kick wakes RunEmbedder after articles are added.
	kick chan struct{}

	mu    sync.Mutex
	cache map[string][]float32 // question vectors, bounded by maxCachedQueries

	embedded  atomic.Uint64 // passages embedded by this process
	fallbacks atomic.Uint64 // searches that went on without embeddings
	// pausedUntil (Unix nanoseconds) is when questions may be embedded
	// again after a failure: an endpoint that is down would otherwise
	// cost every search its QueryTimeout.
	pausedUntil atomic.Int64
}

// EmbeddingStats counts what embeddings did since the store was opened.
type EmbeddingStats struct {
	Embedded  uint64 // passages embedded
	Fallbacks uint64 // searches that fell back to full text alone
}

// EmbeddingStats returns the counts since the store was opened; zero
// without an Embedding.
func (s *Store) EmbeddingStats() EmbeddingStats {
	if s.embed == nil {
		return EmbeddingStats{}
	}
	return EmbeddingStats{Embedded: s.embed.embedded.Load(), Fallbacks: s.embed.fallbacks.Load()}
}

const (
	// vectorPool is how many full-text candidates are reranked by
	// similarity when embeddings are on. Dense similarity only reorders
	// what full text found: it rescues answers ranked low for want of the
	// question's exact words, at a bounded cost per search, without a
	// vector index whose memory would grow with the store.
	vectorPool = 200
	// rrfK is reciprocal rank fusion's constant (Cormack et al., 2009):
	// large enough that a top rank in one list does not swamp the other.
	rrfK = 60
	// maxCachedQueries bounds the question-vector cache; the bot's
	// follow-ups and repeated questions hit it.
	maxCachedQueries = 512
	// embedPause is how long searches skip embedding questions after the
	// endpoint failed one.
	embedPause = 30 * time.Second
	// maxEmbedRunes trims what is sent for one passage, well inside the
	// context of common embedding models (512 tokens and up).
	maxEmbedRunes = 2000
)

// EmbeddingModel returns the store's embedding model, or "" without one.
func (s *Store) EmbeddingModel() string {
	if s.embed == nil {
		return ""
	}
	return s.embed.Model
}

// EmbedSummary reports a backfill.
type EmbedSummary struct {
	Model    string
	Embedded int // passages embedded by this call
	Left     int // active passages still without a vector from Model
	Dims     int // the vectors' length; 0 if none were made
}

// ErrNoEmbedding means the store was opened without an Embedding.
var ErrNoEmbedding = errors.New("no embedding model is configured")

// EmbedPending embeds every active passage that has no vector from the
// configured model, in batches, each stored in its own transaction, so an
// interrupted backfill keeps what it finished. progress, if not nil, is
// called after each batch with the passages done so far and those left.
// Vectors whose length differs from the first batch's are an error: the
// endpoint changed model behind the configured name.
func (s *Store) EmbedPending(ctx context.Context, progress func(done, left int)) (EmbedSummary, error) {
	e := s.embed
	if e == nil {
		return EmbedSummary{}, ErrNoEmbedding
	}
	sum := EmbedSummary{Model: e.Model}
	left, err := s.pendingVectors(ctx)
	if err != nil {
		return sum, fmt.Errorf("embed passages: %w", err)
	}
	// Passages are visited once each, in id order, so one that keeps
	// failing cannot be asked for again within a backfill.
	for after := int64(0); ; {
		ids, texts, err := s.unembedded(ctx, after, e.Batch)
		if err != nil {
			return sum, fmt.Errorf("embed passages: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1]
		vecs, err := e.Embedder.Embed(ctx, texts)
		if err == nil && len(vecs) != len(ids) {
			err = fmt.Errorf("got %d vectors for %d passages", len(vecs), len(ids))
		}
		if err == nil {
			err = s.storeVectors(ctx, e.Model, ids, vecs, &sum.Dims)
		}
		if err != nil {
			sum.Left, _ = s.pendingVectors(ctx)
			return sum, fmt.Errorf("embed passages: %w", err)
		}
		sum.Embedded += len(ids)
		e.embedded.Add(uint64(len(ids)))
		if progress != nil {
			progress(sum.Embedded, max(left-sum.Embedded, 0))
		}
	}
	if sum.Left, err = s.pendingVectors(ctx); err != nil {
		return sum, fmt.Errorf("embed passages: %w", err)
	}
	return sum, nil
}

// VectorCoverage returns how many active passages have a vector from the
// configured model, and how many active passages there are.
func (s *Store) VectorCoverage(ctx context.Context) (with, total int, err error) {
	if s.embed == nil {
		return 0, 0, ErrNoEmbedding
	}
	err = s.reader.QueryRowContext(ctx, `
		SELECT count(v.passage_id), count(*)
		FROM passages p JOIN articles a ON a.id = p.article_id
		LEFT JOIN passage_vectors v ON v.passage_id = p.id AND v.model = ?
		WHERE a.status = 'active'`, s.embed.Model).Scan(&with, &total)
	return with, total, err
}

func (s *Store) pendingVectors(ctx context.Context) (int, error) {
	with, total, err := s.VectorCoverage(ctx)
	return total - with, err
}

// unembedded reads up to n active passages after id `after` that lack a
// vector from the configured model, with the text to embed for each.
func (s *Store) unembedded(ctx context.Context, after int64, n int) ([]int64, []string, error) {
	rows, err := s.reader.QueryContext(ctx, `
		SELECT p.id, a.title, p.body
		FROM passages p JOIN articles a ON a.id = p.article_id
		LEFT JOIN passage_vectors v ON v.passage_id = p.id AND v.model = ?
		WHERE a.status = 'active' AND v.passage_id IS NULL AND p.id > ?
		ORDER BY p.id LIMIT ?`, s.embed.Model, after, n)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ids []int64
	var texts []string
	for rows.Next() {
		var id int64
		var title, body string
		if err := rows.Scan(&id, &title, &body); err != nil {
			return nil, nil, err
		}
		ids = append(ids, id)
		texts = append(texts, s.embed.DocumentPrefix+clip(title+"\n\n"+body, maxEmbedRunes))
	}
	return ids, texts, rows.Err()
}

// storeVectors writes one batch of vectors. *dims is the length all vectors
// must have; 0 means take the first one's.
func (s *Store) storeVectors(ctx context.Context, model string, ids []int64, vecs [][]float32, dims *int) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO passage_vectors (passage_id, model, dims, vec) VALUES (?, ?, ?, ?)
		ON CONFLICT (passage_id) DO UPDATE SET model = excluded.model, dims = excluded.dims, vec = excluded.vec`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, v := range vecs {
		if *dims == 0 {
			*dims = len(v)
		}
		if len(v) == 0 || len(v) != *dims {
			return fmt.Errorf("passage %d: a vector of %d dimensions, want %d", ids[i], len(v), *dims)
		}
		blob, ok := encodeVector(v)
		if !ok {
			return fmt.Errorf("passage %d: the vector is zero or not finite", ids[i])
		}
		if _, err := stmt.ExecContext(ctx, ids[i], model, len(v), blob); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// RunEmbedder embeds new passages in the background until ctx ends: once
// at the start, then whenever articles are added. Failures are logged and
// retried after a pause; search meanwhile uses full text for passages
// without vectors. It does nothing without an Embedding.
func (s *Store) RunEmbedder(ctx context.Context) {
	e := s.embed
	if e == nil {
		return
	}
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		sum, err := s.EmbedPending(ctx, nil)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Warn("embedding passages failed; search uses full text for those without vectors until the next try",
				"model", e.Model, "embedded", sum.Embedded, "left", sum.Left, "err", err)
			wait = time.Minute
			continue
		case sum.Embedded > 0:
			s.log.Info("embedded passages", "model", e.Model, "embedded", sum.Embedded, "dims", sum.Dims)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.kick:
			wait = 0
		}
	}
}

// kickEmbedder tells RunEmbedder that there may be new passages. It never
// blocks.
func (s *Store) kickEmbedder() {
	if s.embed == nil {
		return
	}
	select {
	case s.embed.kick <- struct{}{}:
	default:
	}
}

// rerank fuses the full-text order of cands (already date-weighted and
// sorted) with their similarity to the question, by reciprocal rank, the
// similarity order counting Embedding.Weight times as much. The
// similarity is date-weighted by the same prior, so that a close match
// from years ago does not beat this week's news on similarity alone.
// Candidates without a vector keep only their full-text share. On any
// failure it returns cands unchanged and the error, for logging.
func (s *Store) rerank(ctx context.Context, question string, cands []Result, weight func(Result) float64) ([]Result, error) {
	if len(cands) < 2 {
		return cands, nil
	}
	qv, err := s.queryVector(ctx, question)
	if err != nil {
		return cands, err
	}
	vecs, err := s.vectorsFor(ctx, cands)
	if err != nil {
		return cands, err
	}
	type sim struct {
		i int
		v float64
	}
	sims := make([]sim, 0, len(vecs))
	for i, c := range cands {
		v, ok := vecs[c.PassageID]
		if !ok || len(v) != len(qv) {
			continue
		}
		// Cosine in [-1, 1] mapped to [0, 1] before weighting, so that a
		// smaller weight always means a lower place.
		sims = append(sims, sim{i, (1 + dot(qv, v)) / 2 * weight(c)})
	}
	sort.SliceStable(sims, func(a, b int) bool { return sims[a].v > sims[b].v })
	fused := make([]float64, len(cands))
	for r := range cands {
		fused[r] = 1 / float64(rrfK+r+1)
	}
	for r, sm := range sims {
		fused[sm.i] += s.embed.Weight / float64(rrfK+r+1)
	}
	for i := range cands {
		cands[i].Score = fused[i]
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].Score > cands[b].Score })
	return cands, nil
}

// queryVector embeds a question, from the cache when it was asked before.
func (s *Store) queryVector(ctx context.Context, question string) ([]float32, error) {
	e := s.embed
	text := e.QueryPrefix + clip(question, maxEmbedRunes)
	e.mu.Lock()
	v, ok := e.cache[text]
	e.mu.Unlock()
	if ok {
		return v, nil
	}
	if until := e.pausedUntil.Load(); time.Now().UnixNano() < until {
		return nil, fmt.Errorf("embed the question: paused after a failure until %s", time.Unix(0, until).Format(time.TimeOnly))
	}
	qctx, cancel := context.WithTimeout(ctx, e.QueryTimeout)
	defer cancel()
	vecs, err := e.Embedder.Embed(qctx, []string{text})
	if err != nil {
		if ctx.Err() == nil { // the endpoint failed, not the caller
			e.pausedUntil.Store(time.Now().Add(embedPause).UnixNano())
		}
		return nil, fmt.Errorf("embed the question: %w", err)
	}
	if len(vecs) != 1 {
		return nil, fmt.Errorf("embed the question: got %d vectors for 1 text", len(vecs))
	}
	blob, ok := encodeVector(vecs[0])
	if !ok {
		return nil, errors.New("embed the question: the vector is zero or not finite")
	}
	v = decodeVector(blob) // normalised
	e.mu.Lock()
	if len(e.cache) >= maxCachedQueries {
		clear(e.cache)
	}
	e.cache[text] = v
	e.mu.Unlock()
	return v, nil
}

// vectorsFor reads the configured model's vectors of the candidates'
// passages.
func (s *Store) vectorsFor(ctx context.Context, cands []Result) (map[int64][]float32, error) {
	ids := make([]int64, len(cands))
	for i, c := range cands {
		ids[i] = c.PassageID
	}
	list, _ := json.Marshal(ids)
	rows, err := s.reader.QueryContext(ctx, `
		SELECT passage_id, vec FROM passage_vectors
		WHERE model = ? AND passage_id IN (SELECT value FROM json_each(?))`, s.embed.Model, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64][]float32, len(cands))
	for rows.Next() {
		var id int64
		var blob []byte
		if err := rows.Scan(&id, &blob); err != nil {
			return nil, err
		}
		if v := decodeVector(blob); v != nil {
			out[id] = v
		}
	}
	return out, rows.Err()
}

// encodeVector L2-normalises v and packs it as little-endian float32s. It
// reports false for a zero or non-finite vector, which has no direction.
func encodeVector(v []float32) ([]byte, bool) {
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	norm = math.Sqrt(norm)
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return nil, false
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(float64(x)/norm)))
	}
	return b, true
}

// decodeVector unpacks encodeVector's bytes; nil if the length is wrong.
func decodeVector(b []byte) []float32 {
	if len(b) == 0 || len(b)%4 != 0 {
		return nil
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func dot(a, b []float32) float64 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return float64(s)
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
