// Package rtqa measures Parley's retrieval on RealTime QA weeks (Kasai et
// al., NeurIPS 2023): weekly news-quiz questions, each with the news articles
// a search engine returned for it. The data is third-party and read from
// disk at run time; none of it is part of Parley.
package rtqa

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"parley/knowledge"
)

// Question is one quiz question with what is needed to judge answers to it.
type Question struct {
	ID       string
	Date     time.Time // the day it was asked
	Sentence string
	Answer   string // the right choice's text
	// Relevant holds the URLs of the question's own search results whose
	// title or text contains the answer.
	Relevant map[string]bool
}

// Set is a loaded collection of weeks.
type Set struct {
	Questions []Question
	// Articles pools every search result with text, one per URL, in the
	// order first seen.
	Articles []knowledge.ImportRecord
	Weeks    []string
}

// QARecord is one line of a week's YYYYMMDD_qa.jsonl: a question, its
// choices and the index of the right one.
type QARecord struct {
	ID       string   `json:"question_id"`
	Date     Date     `json:"question_date"`
	Sentence string   `json:"question_sentence"`
	Choices  []string `json:"choices"`
	Answer   Answers  `json:"answer"`
}

// Answers holds a question's right choices as the benchmark writes them, a
// list of index strings (["2"]). It also reads a bare string or number, or
// a list of numbers, so that a week written by another tool loads too.
type Answers []string

// UnmarshalJSON implements json.Unmarshaler.
func (a *Answers) UnmarshalJSON(b []byte) error {
	var list []json.RawMessage
	if err := json.Unmarshal(b, &list); err != nil {
		list = []json.RawMessage{b}
	}
	*a = (*a)[:0]
	for _, raw := range list {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		switch v := v.(type) {
		case string:
			*a = append(*a, v)
		case float64:
			*a = append(*a, strconv.FormatFloat(v, 'f', -1, 64))
		case nil:
		default:
			return fmt.Errorf("answer %s is not an index", raw)
		}
	}
	return nil
}

// Date holds a date as the benchmark writes it, a string ("2026/03/06"). It
// also reads a number as Unix time (in seconds, or milliseconds when too
// large for seconds), and reads null or any other value as no date, since a
// date the loader cannot read should leave an article undated rather than
// stop the evaluation.
type Date string

// UnmarshalJSON implements json.Unmarshaler.
func (d *Date) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = ""
	switch v := v.(type) {
	case string:
		*d = Date(v)
	case float64:
		if v > 1e11 {
			v /= 1000
		}
		*d = Date(time.Unix(int64(v), 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// GCSRecord is one line of a week's YYYYMMDD_gcs.jsonl: the articles a
// search engine returned for a question.
type GCSRecord struct {
	ID      string         `json:"question_id"`
	Results []SearchResult `json:"search_result"`
}

// SearchResult is one article of a GCSRecord.
type SearchResult struct {
	URL       string `json:"url"`
	Title     string `json:"title"`
	Text      string `json:"text"`
	Authors   any    `json:"authors"`
	Published Date   `json:"publish_date"`
}

// WriteWeek writes a week in the format Load reads, as
// dir/WEEK_qa.jsonl and dir/WEEK_gcs.jsonl: for tests, and for anyone
// building weeks of their own.
func WriteWeek(dir, week string, qa []QARecord, gcs []GCSRecord) error {
	write := func(name string, n int, rec func(int) any) error {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		for i := range n {
			if err := enc.Encode(rec(i)); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(dir, week+name), b.Bytes(), 0o600)
	}
	if err := write("_qa.jsonl", len(qa), func(i int) any { return qa[i] }); err != nil {
		return err
	}
	return write("_gcs.jsonl", len(gcs), func(i int) any { return gcs[i] })
}

// Load reads every week in dir and the folders below it: files named
// YYYYMMDD_qa.jsonl, each with a matching YYYYMMDD_gcs.jsonl beside it,
// taken in date order wherever they sit, so that held-out weeks kept one
// folder a week load as they would side by side. Questions with no
// relevant article are left out, as the benchmark's evaluation does.
func Load(dir string) (*Set, error) {
	qaFiles, err := weekFiles(dir)
	if err != nil {
		return nil, err
	}
	set := &Set{}
	seen := make(map[string]bool)
	for _, qf := range qaFiles {
		week := strings.TrimSuffix(filepath.Base(qf), "_qa.jsonl")
		gf := filepath.Join(filepath.Dir(qf), week+"_gcs.jsonl")
		var qas []QARecord
		if err := readJSONL(qf, func(b []byte) error {
			var q QARecord
			if err := json.Unmarshal(b, &q); err != nil {
				return err
			}
			qas = append(qas, q)
			return nil
		}); err != nil {
			return nil, err
		}
		results := make(map[string]GCSRecord)
		var order []string // question ids in file order
		if err := readJSONL(gf, func(b []byte) error {
			var g GCSRecord
			if err := json.Unmarshal(b, &g); err != nil {
				return err
			}
			if _, dup := results[g.ID]; !dup {
				order = append(order, g.ID)
			}
			results[g.ID] = g
			return nil
		}); err != nil {
			return nil, err
		}
		set.Weeks = append(set.Weeks, week)
		// In file order: the same URL can come back for several questions
		// with different text, and the first one seen is kept, so the
		// pool must not depend on map order.
		for _, id := range order {
			g := results[id]
			for _, r := range g.Results {
				if strings.TrimSpace(r.Text) == "" || r.URL == "" || seen[r.URL] {
					continue
				}
				seen[r.URL] = true
				title := r.Title
				if strings.TrimSpace(title) == "" {
					// The store requires a title, and the benchmark pools
					// every article with text: stand in the opening words,
					// as a moderator adding it would.
					title = knowledge.Lead(r.Text)
				}
				set.Articles = append(set.Articles, knowledge.ImportRecord{
					URL: r.URL, Title: title, Text: r.Text,
					PublishedAt: strings.ReplaceAll(string(r.Published), "/", "-"),
					Author:      authors(r.Authors),
				})
			}
		}
		for _, qa := range qas {
			q, ok := judge(qa, results[qa.ID], week)
			if ok {
				set.Questions = append(set.Questions, q)
			}
		}
	}
	// Sorted by URL, so that the store's ids do not depend on file order.
	sort.SliceStable(set.Articles, func(i, j int) bool { return set.Articles[i].URL < set.Articles[j].URL })
	return set, nil
}

// judge turns a question record into a Question with its relevant
// articles among g, or reports false when it has none or no readable
// answer. A question with no readable date is taken as asked on its week's
// date, the file name's YYYYMMDD.
func judge(qa QARecord, g GCSRecord, week string) (Question, bool) {
	if len(qa.Answer) == 0 {
		return Question{}, false
	}
	idx, err := strconv.Atoi(qa.Answer[0])
	if err != nil || idx < 0 || idx >= len(qa.Choices) {
		return Question{}, false
	}
	// Most weeks write 2026-01-08, some 2026/04/24.
	date, err := knowledge.ParseDate(string(qa.Date))
	if err != nil || date.IsZero() {
		date, _ = time.Parse("20060102", week)
	}
	q := Question{ID: qa.ID, Date: date, Sentence: qa.Sentence, Answer: qa.Choices[idx], Relevant: map[string]bool{}}
	want := Fold(q.Answer)
	if want == "" {
		return Question{}, false
	}
	for _, r := range g.Results {
		if strings.TrimSpace(r.Text) == "" {
			continue
		}
		if strings.Contains(Fold(r.Title), want) || strings.Contains(Fold(r.Text), want) {
			q.Relevant[r.URL] = true
		}
	}
	return q, len(q.Relevant) > 0
}

// Fold lower-cases s and turns punctuation into spaces, collapsing runs of
// space: the benchmark's rule for matching an answer in a text.
func Fold(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return unicode.IsPunct(r) || unicode.IsSpace(r) || unicode.IsSymbol(r)
	})
	return strings.Join(f, " ")
}

// weekFiles returns the YYYYMMDD_qa.jsonl files in dir and below it,
// ordered by week and then by path.
func weekFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), "_qa.jsonl") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *_qa.jsonl files in %s or below it", dir)
	}
	sort.Slice(files, func(i, j int) bool {
		wi, wj := filepath.Base(files[i]), filepath.Base(files[j])
		if wi != wj {
			return wi < wj
		}
		return files[i] < files[j]
	})
	return files, nil
}

func authors(v any) string {
	switch a := v.(type) {
	case string:
		return a
	case []any:
		var names []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				names = append(names, s)
			}
		}
		return strings.Join(names, ", ")
	}
	return ""
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

// WriteJSONL writes the pooled articles in Parley's import format.
func (s *Set) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, a := range s.Articles {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return nil
}

// Metrics are article-level ranking figures averaged over questions.
type Metrics struct {
	Questions int     `json:"questions"`
	Hits1     float64 `json:"hits_at_1"`
	Hits5     float64 `json:"hits_at_5"`
	Hits10    float64 `json:"hits_at_10"`
	MRR10     float64 `json:"mrr_at_10"`
	NDCG10    float64 `json:"ndcg_at_10"`
}

// Score computes Metrics for ranked article URLs per question id. Ranked
// lists must already be collapsed to articles (first occurrence wins).
func (s *Set) Score(ranked map[string][]string) Metrics {
	var m Metrics
	for _, q := range s.Questions {
		m.Questions++
		urls := ranked[q.ID]
		if len(urls) > 10 {
			urls = urls[:10]
		}
		dcg, first := 0.0, 0
		for i, u := range urls {
			if q.Relevant[u] {
				if first == 0 {
					first = i + 1
				}
				dcg += 1 / math.Log2(float64(i+2))
			}
		}
		idcg := 0.0
		for i := 0; i < min(10, len(q.Relevant)); i++ {
			idcg += 1 / math.Log2(float64(i+2))
		}
		if first > 0 {
			m.MRR10 += 1 / float64(first)
			if first <= 1 {
				m.Hits1++
			}
			if first <= 5 {
				m.Hits5++
			}
			m.Hits10++
		}
		m.NDCG10 += dcg / idcg
	}
	if m.Questions > 0 {
		n := float64(m.Questions)
		m.Hits1, m.Hits5, m.Hits10, m.MRR10, m.NDCG10 = m.Hits1/n, m.Hits5/n, m.Hits10/n, m.MRR10/n, m.NDCG10/n
	}
	return m
}

// Collapse turns ranked passage URLs into ranked article URLs: the first
// occurrence of each URL keeps its place.
func Collapse(urls []string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, u := range urls {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}
