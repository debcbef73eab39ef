package rtqa

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"parley/knowledge"
)

// Run asks every question through store.Search with the options in base
// and returns the ranked article URLs per question and each search's
// latency. With asOf, each question is asked as of the end of its question
// date.
func (s *Set) Run(ctx context.Context, store *knowledge.Store, asOf bool, base knowledge.SearchOptions) (map[string][]string, []time.Duration, error) {
	original := make(map[string]string, len(s.Articles))
	for _, a := range s.Articles {
		if c, err := knowledge.CanonicalURL(a.URL); err == nil {
			original[c] = a.URL
		}
	}
	ranked := make(map[string][]string, len(s.Questions))
	lat := make([]time.Duration, 0, len(s.Questions))
	for _, q := range s.Questions {
		opt := base
		if asOf {
			opt.AsOf = q.Date.Add(24*time.Hour - time.Second)
		}
		start := time.Now()
		res, err := store.Search(ctx, q.Sentence, opt)
		lat = append(lat, time.Since(start))
		if err != nil {
			return nil, nil, fmt.Errorf("question %s: %w", q.ID, err)
		}
		urls := make([]string, 0, len(res))
		for _, r := range res {
			u := r.URL
			if o, ok := original[u]; ok {
				u = o
			}
			urls = append(urls, u)
		}
		ranked[q.ID] = Collapse(urls)
	}
	return ranked, lat, nil
}

// Latency times store.Search with opt beside store.BareSearch, the
// full-text query alone (the engine's own cost on the same store), for
// every question, passes times over. The two alternate question by
// question, and which goes first alternates too, so that a noisy machine
// or a warm cache favours neither.
func (s *Set) Latency(ctx context.Context, store *knowledge.Store, opt knowledge.SearchOptions, passes int) (search, bare []time.Duration, err error) {
	timed := func(f func() error) (time.Duration, error) {
		start := time.Now()
		err := f()
		return time.Since(start), err
	}
	for p := 0; p < passes; p++ {
		for i, q := range s.Questions {
			runSearch := func() error { _, err := store.Search(ctx, q.Sentence, opt); return err }
			runBare := func() error { _, err := store.BareSearch(ctx, q.Sentence, opt.Limit); return err }
			first, second := runSearch, runBare
			if (i+p)%2 == 1 {
				first, second = runBare, runSearch
			}
			d1, err := timed(first)
			if err != nil {
				return nil, nil, fmt.Errorf("question %s: %w", q.ID, err)
			}
			d2, err := timed(second)
			if err != nil {
				return nil, nil, fmt.Errorf("question %s: %w", q.ID, err)
			}
			if (i+p)%2 == 1 {
				d1, d2 = d2, d1
			}
			search, bare = append(search, d1), append(bare, d2)
		}
	}
	return search, bare, nil
}

// Reference ranks the questions with the benchmark's plain baseline: SQLite
// FTS5 BM25 over whole articles (title and body columns, porter unicode61
// tokenizer, the question's words minus stop words OR-ed together), in a
// scratch database under dir. It also returns each query's latency.
func (s *Set) Reference(ctx context.Context, dir string) (map[string][]string, []time.Duration, error) {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "reference.db")+"?_journal_mode=WAL&_synchronous=OFF")
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE VIRTUAL TABLE ref USING fts5(url UNINDEXED, title, body, tokenize='porter unicode61')`); err != nil {
		return nil, nil, fmt.Errorf("reference store: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range s.Articles {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ref (url, title, body) VALUES (?, ?, ?)`, a.URL, a.Title, a.Text); err != nil {
			tx.Rollback()
			return nil, nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, err
	}
	ranked := make(map[string][]string, len(s.Questions))
	lat := make([]time.Duration, 0, len(s.Questions))
	for _, q := range s.Questions {
		start := time.Now()
		urls, err := BareQuery(ctx, db, `SELECT url FROM ref WHERE ref MATCH ? ORDER BY bm25(ref) LIMIT 10`, q.Sentence)
		lat = append(lat, time.Since(start))
		if err != nil {
			return nil, nil, fmt.Errorf("reference, question %s: %w", q.ID, err)
		}
		ranked[q.ID] = urls
	}
	return ranked, lat, nil
}

// BareQuery runs query (one text parameter, the FTS5 MATCH expression
// Parley builds from question: its non-stop words quoted and OR-ed) and
// returns the first column of each row.
func BareQuery(ctx context.Context, db *sql.DB, query, question string) ([]string, error) {
	match := knowledge.MatchQuery(question)
	if match == "" {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, query, match)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Percentile returns the p-th percentile (0..100) of ds.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}

// Support is how often extractive answers carry the right answer.
type Support struct {
	Questions int     `json:"questions"`
	Supported int     `json:"supported"` // cited sentences contain the right answer's text
	Refused   int     `json:"refused"`
	Share     float64 `json:"share"` // Supported / Questions
	// InCited counts the other answers whose cited passages hold the
	// right answer's text in a sentence the answer did not quote: the
	// sources were right, the choice of sentences was not.
	InCited int `json:"answer_in_cited_passages"`
}

// holds reports whether text contains answer as whole words, folded as the
// benchmark folds them.
func holds(text, answer string) bool {
	return strings.Contains(" "+Fold(text)+" ", " "+Fold(answer)+" ")
}

// AnswerSupport asks every question through ans (extractive when it has no
// model), as of the question's date, and counts the answers whose text
// contains the right choice (folded as the benchmark folds it).
func (s *Set) AnswerSupport(ctx context.Context, ans *knowledge.Answerer) (Support, error) {
	var sup Support
	for _, q := range s.Questions {
		a, err := ans.Answer(ctx, knowledge.Question{Text: q.Sentence, AsOf: q.Date.Add(24*time.Hour - time.Second), Asker: "eval"})
		if err != nil {
			return sup, fmt.Errorf("question %s: %w", q.ID, err)
		}
		sup.Questions++
		switch {
		case a.Refusal:
			sup.Refused++
		case holds(a.Text, q.Answer):
			sup.Supported++
		default:
			for _, c := range a.Citations {
				if holds(c.Passage, q.Answer) {
					sup.InCited++
					break
				}
			}
		}
	}
	if sup.Questions > 0 {
		sup.Share = float64(sup.Supported) / float64(sup.Questions)
	}
	return sup, nil
}

// BareInsert times plain FTS5 inserts of the pool's passages, of about
// words words, in a scratch database under dir (see knowledge.BareInsert).
func (s *Set) BareInsert(ctx context.Context, dir string, words int) (passages int, took time.Duration, err error) {
	return knowledge.BareInsert(ctx, filepath.Join(dir, "bare-insert.db"), s.Articles, words)
}
