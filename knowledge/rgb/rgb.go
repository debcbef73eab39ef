// Package rgb measures Parley's answers on the RGB benchmark's English
// counterfactual split (Chen et al., AAAI 2024): short news questions, each
// with passages that contain the answer ("positive"), the same passages
// with a false answer put in ("positive_wrong"), and related passages that
// do not answer ("negative"). The data is third-party (CC BY-NC-SA 4.0) and
// read from disk at run time; none of it is part of Parley.
package rgb

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"parley/knowledge"
	"parley/knowledge/rtqa"
)

// Item is one question.
type Item struct {
	ID            string
	Query         string
	Answers       []string // the gold answer and its aliases
	FakeAnswer    string
	Positive      []string
	PositiveWrong []string
	Negative      []string
}

type line struct {
	ID            json.RawMessage `json:"id"`
	Query         string          `json:"query"`
	Answer        json.RawMessage `json:"answer"`
	FakeAnswer    string          `json:"fakeanswer"`
	Positive      []string        `json:"positive"`
	PositiveWrong []string        `json:"positive_wrong"`
	Negative      []string        `json:"negative"`
}

// Load reads the JSON Lines file.
func Load(path string) ([]Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var items []Item
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		it := Item{ID: strings.Trim(string(l.ID), `"`), Query: l.Query, FakeAnswer: l.FakeAnswer,
			Positive: l.Positive, PositiveWrong: l.PositiveWrong, Negative: l.Negative}
		it.Answers = answers(l.Answer)
		if it.Query == "" || len(it.Answers) == 0 {
			return nil, fmt.Errorf("%s:%d: no query or no answer", path, n)
		}
		items = append(items, it)
	}
	return items, sc.Err()
}

// answers flattens a string, a list of strings or a list of lists of
// aliases into one list.
func answers(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var flat []string
	if json.Unmarshal(raw, &flat) == nil {
		return flat
	}
	var nested [][]string
	if json.Unmarshal(raw, &nested) == nil {
		var out []string
		for _, n := range nested {
			out = append(out, n...)
		}
		return out
	}
	return nil
}

// Result counts outcomes over the items for one condition.
type Result struct {
	Condition string  `json:"condition"`
	Items     int     `json:"items"`
	Correct   int     `json:"correct"` // answered with the gold answer and a citation
	Refused   int     `json:"refused"`
	Fooled    int     `json:"fooled"` // gave the counterfactual answer
	Rate      float64 `json:"rate"`   // the condition's figure of merit (see Run)
}

// Answerer is what Run needs: the answer pipeline over a store.
type Answerer func(store *knowledge.Store) *knowledge.Answerer

// Run asks every item's question in three conditions, each over a fresh
// store under dir holding only that item's passages:
//   - "negative only": the right behaviour is a refusal; Rate is the share
//     refused;
//   - "positive + negative": Rate is the share answered with the gold answer;
//   - "counterfactual + negative": Rate is the share not fooled into
//     repeating the planted false answer.
func Run(ctx context.Context, items []Item, dir string, newAnswerer Answerer) ([]Result, error) {
	conds := []struct {
		name  string
		texts func(Item) []string
	}{
		{"negative only", func(it Item) []string { return it.Negative }},
		{"positive + negative", func(it Item) []string { return append(append([]string{}, it.Positive...), it.Negative...) }},
		{"counterfactual + negative", func(it Item) []string {
			return append(append([]string{}, it.PositiveWrong...), it.Negative...)
		}},
	}
	var out []Result
	for ci, c := range conds {
		r := Result{Condition: c.name}
		for _, it := range items {
			ans, err := askOne(ctx, filepath.Join(dir, fmt.Sprintf("rgb-%d-%s.db", ci, it.ID)), it.Query, c.texts(it), newAnswerer)
			if err != nil {
				return nil, fmt.Errorf("item %s, %s: %w", it.ID, c.name, err)
			}
			r.Items++
			text := " " + rtqa.Fold(ans.Text) + " "
			switch {
			case ans.Refusal:
				r.Refused++
			case containsAny(text, it.Answers) && len(ans.Citations) > 0:
				r.Correct++
			case it.FakeAnswer != "" && containsAny(text, []string{it.FakeAnswer}):
				r.Fooled++
			}
		}
		switch ci {
		case 0:
			r.Rate = ratio(r.Refused, r.Items)
		case 1:
			r.Rate = ratio(r.Correct, r.Items)
		case 2:
			r.Rate = 1 - ratio(r.Fooled, r.Items)
		}
		out = append(out, r)
	}
	return out, nil
}

func askOne(ctx context.Context, path, query string, texts []string, newAnswerer Answerer) (knowledge.Answer, error) {
	store, err := knowledge.Open(ctx, path)
	if err != nil {
		return knowledge.Answer{}, err
	}
	defer store.Close()
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			continue
		}
		_, err := store.Add(ctx, knowledge.NewArticle{
			Title: fmt.Sprintf("Passage %d", i+1), Text: t, Origin: knowledge.OriginImport, AddedBy: "eval",
		})
		if err != nil {
			return knowledge.Answer{}, err
		}
	}
	return newAnswerer(store).Answer(ctx, knowledge.Question{Text: query, Asker: "eval"})
}

func containsAny(folded string, answers []string) bool {
	for _, a := range answers {
		if f := rtqa.Fold(a); f != "" && strings.Contains(folded, " "+f+" ") {
			return true
		}
	}
	return false
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
