package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks over generated data of realistic size. Results and the machine
// they ran on are recorded in the README. Run:
//
//	go test -tags sqlite_fts5 -run '^$' -bench . -benchtime 1x ./knowledge/
//	PARLEY_BENCH_LARGE=1 go test ... -bench 'SearchScale/1000k' -timeout 60m ./knowledge/
//
// The stores are built once and kept in the system's temporary directory,
// since a million passages take minutes to index.

// benchStore opens (building it the first time) a store of about passages
// synthetic passages.
func benchStore(b *testing.B, passages int) *Store {
	return benchStoreNamed(b, fmt.Sprintf("parley-bench-%d.db", passages), passages, nil)
}

// benchStoreNamed opens (building it the first time) the store called name
// in the temporary directory, with about passages synthetic passages and
// opts. finish, if not nil, runs once after the import, before the store
// is marked built.
func benchStoreNamed(b *testing.B, name string, passages int, finish func(*Store), opts ...Option) *Store {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), name)
	done := path + ".done"
	if _, err := os.Stat(done); err != nil {
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			os.Remove(p)
		}
		removeArticleIndex(path)
		s, err := Open(ctx, path, opts...)
		if err != nil {
			b.Fatal(err)
		}
		r, w, _ := os.Pipe()
		go func() {
			newSynthCorpus(uint64(passages)).writeJSONL(w, passages)
			w.Close()
		}()
		start := time.Now()
		sum, err := s.Import(ctx, r, ImportOptions{AddedBy: "bench", Report: func(li LineIssue) { b.Log(li) }})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("built %s: %d articles, %d passages in %v", path, sum.Added, sum.Passages, time.Since(start).Round(time.Second))
		if finish != nil {
			finish(s)
		}
		s.Close()
		os.WriteFile(done, nil, 0o600)
	}
	s, err := Open(ctx, path, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSearchScale times Search beside the bare FTS5 query it starts
// from (BareSearch), question by question in the same run, and reports the
// median and 99th percentile of each and the ratio of the medians.
func BenchmarkSearchScale(b *testing.B) {
	sizes := []int{100_000}
	if os.Getenv("PARLEY_BENCH_LARGE") != "" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := benchStore(b, n)
			ctx := context.Background()
			qs := benchQuestions(300)
			var parley, bare []time.Duration
			b.ResetTimer()
			bareQuery := func(q string) time.Duration {
				t0 := time.Now()
				if _, err := s.BareSearch(ctx, q, 10); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0)
			}
			search := func(q string) time.Duration {
				t0 := time.Now()
				if _, err := s.Search(ctx, q, SearchOptions{Limit: 10}); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0)
			}
			for b.Loop() {
				for i, q := range qs {
					// Alternate which goes first, so neither always
					// finds the pages the other just read.
					if i%2 == 0 {
						bare = append(bare, bareQuery(q))
						parley = append(parley, search(q))
					} else {
						parley = append(parley, search(q))
						bare = append(bare, bareQuery(q))
					}
				}
			}
			pm, bm := pct(parley, 50), pct(bare, 50)
			b.ReportMetric(ms(pm), "search-p50-ms")
			b.ReportMetric(ms(pct(parley, 99)), "search-p99-ms")
			b.ReportMetric(ms(bm), "bare-p50-ms")
			b.ReportMetric(ms(pct(bare, 99)), "bare-p99-ms")
			b.ReportMetric(float64(pm)/float64(bm), "p50-ratio")
		})
	}
}

// BenchmarkSearchConcurrent times searches asked one at a time and then by
// as many goroutines as there are cores, as the bot is when several
// members ask at once, and reports both throughputs and their ratio: how
// much of the other cores concurrent searches get. It runs on a store the
// size of a server's own sources (2,000 passages), where a search is short
// and its fixed costs weigh most, and on the 100,000-passage store.
func BenchmarkSearchConcurrent(b *testing.B) {
	for _, n := range []int{2_000, 100_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := benchStore(b, n)
			ctx := context.Background()
			qs := benchQuestions(300)
			if n < 100_000 {
				// Short searches: ask each question more times, so that a
				// run is long enough to time.
				qs = slices.Repeat(qs, 10)
			}
			workers := runtime.GOMAXPROCS(0)
			run := func(goroutines int) float64 {
				var next atomic.Int64
				var wg sync.WaitGroup
				t0 := time.Now()
				for range goroutines {
					wg.Go(func() {
						for i := next.Add(1) - 1; i < int64(len(qs)); i = next.Add(1) - 1 {
							if _, err := s.Search(ctx, qs[i], SearchOptions{Limit: 10}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				return float64(len(qs)) / time.Since(t0).Seconds()
			}
			var one, all float64
			for b.Loop() {
				one += run(1)
				all += run(workers)
			}
			b.ReportMetric(one/float64(b.N), "searches/s-1")
			b.ReportMetric(all/float64(b.N), fmt.Sprintf("searches/s-%d", workers))
			b.ReportMetric(all/one, "speed-up")
		})
	}
}

// BenchmarkImport times Store.Import of generated articles beside bare
// FTS5 inserts of the same passages (one plain FTS5 table, one
// transaction) in the same run. Import's time includes decoding the JSON
// Lines and cutting the passages, which it does on one goroutine while
// another writes, so it can keep two cores busy; the bare inserts get the
// passages already cut and run on one.
func BenchmarkImport(b *testing.B) {
	const articles = 3000
	c := newSynthCorpus(3)
	var jsonl bytes.Buffer
	enc := json.NewEncoder(&jsonl)
	var recs []ImportRecord
	for i := range articles {
		r := c.article(i, c.articleWords())
		recs = append(recs, r)
		enc.Encode(r)
	}
	chunks := make([][]string, len(recs))
	passages := 0
	for i, r := range recs {
		chunks[i] = Chunk(r.Text, DefaultPassageWords)
		passages += len(chunks[i])
	}
	ctx := context.Background()

	b.Run("parley", func(b *testing.B) {
		var took time.Duration
		for b.Loop() {
			s, err := Open(ctx, filepath.Join(b.TempDir(), "p.db"))
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			sum, err := s.Import(ctx, bytes.NewReader(jsonl.Bytes()), ImportOptions{})
			took += time.Since(t0)
			if err != nil || sum.Added != articles {
				b.Fatalf("import: %+v, %v", sum, err)
			}
			s.Close()
		}
		b.ReportMetric(float64(articles*b.N)/took.Seconds(), "articles/s")
		b.ReportMetric(float64(passages*b.N)/took.Seconds(), "passages/s")
	})
	b.Run("bare-fts5", func(b *testing.B) {
		var took time.Duration
		for b.Loop() {
			n, d, err := BareInsert(ctx, filepath.Join(b.TempDir(), "bare.db"), recs, 0)
			if err != nil || n != passages {
				b.Fatalf("bare insert: %d passages, %v; want %d", n, err, passages)
			}
			took += d
		}
		b.ReportMetric(float64(articles*b.N)/took.Seconds(), "articles/s")
		b.ReportMetric(float64(passages*b.N)/took.Seconds(), "passages/s")
	})
}

// benchQuestions returns n generated questions, the same every run.
func benchQuestions(n int) []string {
	c := newSynthCorpus(7)
	qs := make([]string, n)
	for i := range qs {
		qs[i] = c.question()
	}
	return qs
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkChunk times cutting generated articles into passages, the work
// import's reading goroutine does beside decoding.
func BenchmarkChunk(b *testing.B) {
	c := newSynthCorpus(3)
	texts := make([]string, 300)
	size := 0
	for i := range texts {
		texts[i] = c.article(i, c.articleWords()).Text
		size += len(texts[i])
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		for _, t := range texts {
			Chunk(t, DefaultPassageWords)
		}
	}
}
