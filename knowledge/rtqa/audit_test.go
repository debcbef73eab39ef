package rtqa

import (
	"fmt"
	"strings"
	"testing"

	"parley/knowledge"
)

// auditSet has a question answered in the open, one whose relevant
// articles answer it near its words or only in passing, and one whose
// answer appears only inside another word.
func auditSet() *Set {
	return &Set{
		Questions: []Question{
			{ID: "hit", Sentence: "Where did the envoys meet?", Answer: "Doha", Relevant: map[string]bool{"u/doha": true}},
			{ID: "miss", Sentence: "Which crossing reopened for aid trucks this week?", Answer: "Rafah",
				Relevant: map[string]bool{"u/topical": true, "u/passing": true}},
			{ID: "inword", Sentence: "How many hostages were freed in the first phase?", Answer: "10",
				Relevant: map[string]bool{"u/year": true}},
		},
		Articles: []knowledge.ImportRecord{
			{URL: "u/doha", Title: "Envoys meet", Text: "The envoys met in Doha."},
			{URL: "u/passing", Title: "Travel notes", Text: "A column about beaches. Rafah was mentioned once, long ago, by a tourist."},
			{URL: "u/topical", Title: "Aid", Text: "After weeks of talks the crossing at Rafah reopened and aid trucks rolled in.", PublishedAt: "2026-03-03"},
			{URL: "u/year", Title: "Archive", Text: "In 2010 the museum opened a new wing."},
		},
	}
}

func TestMissesTellTopicalFromPassing(t *testing.T) {
	set := auditSet()
	misses := set.Misses(map[string][]string{
		"hit":    {"u/doha"},
		"miss":   {"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "u/passing"},
		"inword": {"u/other"},
	}, 10)
	if len(misses) != 2 || misses[0].ID != "miss" || misses[1].ID != "inword" {
		t.Fatalf("misses = %+v, want the two questions outside the top 10", misses)
	}
	m := misses[0]
	if m.Rank != 11 || len(m.Articles) != 2 || !m.Topical() {
		t.Fatalf("miss = %+v, want rank 11, two articles, one topical", m)
	}
	for _, e := range m.Articles {
		if want := e.URL == "u/topical"; e.Topical != want {
			t.Errorf("%s: topical = %v, want %v", e.URL, e.Topical, want)
		}
		if !strings.Contains(e.Snippet, "rafah") {
			t.Errorf("%s: snippet %q does not show the answer", e.URL, e.Snippet)
		}
	}
	// "10" only inside "2010" is not an occurrence of the answer at all.
	if in := misses[1]; in.Rank != 0 || in.Topical() || in.Articles[0].Snippet != "" {
		t.Errorf("in-word match = %+v, want unretrieved, in passing, no snippet", in)
	}
}

// TestTopicalJudgesStrictly: the strict set keeps only articles that
// answer near the question's words, and drops questions left with none.
func TestTopicalJudgesStrictly(t *testing.T) {
	set := auditSet()
	strict := set.Topical()
	var got []string
	for _, q := range strict.Questions {
		var urls []string
		for u := range q.Relevant {
			urls = append(urls, u)
		}
		got = append(got, fmt.Sprint(q.ID, urls))
	}
	if want := []string{"hit[u/doha]", "miss[u/topical]"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("topical questions = %v, want %v", got, want)
	}
	if len(set.Questions) != 3 || len(set.Questions[1].Relevant) != 2 {
		t.Errorf("Topical changed the set it was called on: %+v", set.Questions)
	}
	// Ranked the passing article first and the topical one second, the
	// strict set scores the question at rank 2.
	m := strict.Score(map[string][]string{"hit": {"u/doha"}, "miss": {"u/passing", "u/topical"}})
	if m.Questions != 2 || m.MRR10 != 0.75 {
		t.Errorf("strict metrics = %+v, want 2 questions and MRR (1 + 1/2) / 2", m)
	}
}

// TestLoadKeepsTheFirstCopyOfAURL: the same URL can come back for two
// questions with different text; the pool keeps the first in file order,
// every time, whatever Go's map order does.
func TestLoadKeepsTheFirstCopyOfAURL(t *testing.T) {
	dir := t.TempDir()
	var qa []QARecord
	var gcs []GCSRecord
	for i := range 20 {
		id := fmt.Sprintf("q%d", i)
		qa = append(qa, QARecord{ID: id, Date: "2026/03/06", Sentence: "Where did envoys meet?", Choices: []string{"Doha", "Oslo"}, Answer: []string{"0"}})
		gcs = append(gcs, GCSRecord{ID: id, Results: []SearchResult{{URL: "https://news.example/same", Title: "Envoys",
			Text: fmt.Sprintf("Copy %d: envoys met in Doha.", i), Published: "2026/03/04"}}})
	}
	if err := WriteWeek(dir, "20260306", qa, gcs); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		set, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Articles) != 1 || !strings.HasPrefix(set.Articles[0].Text, "Copy 0:") {
			t.Fatalf("pool = %+v, want the first copy only", set.Articles)
		}
	}
}
