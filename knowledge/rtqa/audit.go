package rtqa

import (
	"strings"

	"parley/knowledge"
)

// Miss is a question none of whose relevant articles ranked in the top k,
// with the evidence that made each of them relevant: what a reader needs
// to tell a ranking failure from a loose judgment.
type Miss struct {
	ID       string     `json:"question_id"`
	Date     string     `json:"question_date"`
	Question string     `json:"question"`
	Answer   string     `json:"answer"`
	Rank     int        `json:"rank"` // of the first relevant article; 0 if not retrieved at all
	Articles []Evidence `json:"relevant_articles"`
}

// Evidence is one relevant article of a missed question.
type Evidence struct {
	URL       string `json:"url"`
	Title     string `json:"title"`
	Published string `json:"published"`
	Words     int    `json:"words"`
	// Topical is true when some occurrence of the answer, as whole words,
	// has at least two of the question's words within nearWindow words:
	// the article plausibly answers the question. False means the answer
	// appears only in passing (or only inside another word, as "10" in
	// "2010"), which the benchmark's substring rule still counts.
	Topical bool   `json:"topical"`
	Snippet string `json:"snippet,omitempty"` // the words around the best occurrence
}

// nearWindow is how many words either side of an answer count as its
// context, about two sentences.
const nearWindow = 30

// Topical reports whether any miss has a topical relevant article.
func (m Miss) Topical() bool {
	for _, e := range m.Articles {
		if e.Topical {
			return true
		}
	}
	return false
}

// Misses lists the questions whose first relevant article is not in the
// top k of ranked, in question order.
func (s *Set) Misses(ranked map[string][]string, k int) []Miss {
	byURL := s.articlesByURL()
	var out []Miss
	for _, q := range s.Questions {
		rank := firstRelevant(q, ranked[q.ID])
		if rank > 0 && rank <= k {
			continue
		}
		m := Miss{ID: q.ID, Date: q.Date.Format("2006-01-02"), Question: q.Sentence, Answer: q.Answer, Rank: rank}
		for _, a := range s.Articles { // article order, so output is stable
			if !q.Relevant[a.URL] {
				continue
			}
			e := evidence(q, byURL[a.URL])
			m.Articles = append(m.Articles, e)
		}
		out = append(out, m)
	}
	return out
}

// evidence finds the answer in an article as whole words and looks for the
// question's words around it.
func evidence(q Question, a knowledge.ImportRecord) Evidence {
	words := strings.Fields(Fold(a.Title + " . " + a.Text))
	e := Evidence{URL: a.URL, Title: a.Title, Published: a.PublishedAt, Words: len(strings.Fields(a.Text))}
	answer := strings.Fields(Fold(q.Answer))
	terms := stems(knowledge.Terms(q.Sentence))
	best, bestAt := -1, -1
	for i := 0; i+len(answer) <= len(words); i++ {
		if !equalWords(words[i:i+len(answer)], answer) {
			continue
		}
		seen := make(map[string]bool)
		for _, w := range words[max(0, i-nearWindow):min(len(words), i+len(answer)+nearWindow)] {
			if st := stem(w); terms[st] {
				seen[st] = true
			}
		}
		if len(seen) > best {
			best, bestAt = len(seen), i
		}
	}
	if bestAt >= 0 {
		e.Topical = best >= 2
		e.Snippet = strings.Join(words[max(0, bestAt-12):min(len(words), bestAt+len(answer)+12)], " ")
	}
	return e
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// stem is a crude stemmer, enough to match "negotiators" with
// "negotiations": the first five letters.
func stem(w string) string {
	r := []rune(w)
	return string(r[:min(len(r), 5)])
}

func stems(terms []string) map[string]bool {
	m := make(map[string]bool, len(terms))
	for _, t := range terms {
		m[stem(t)] = true
	}
	return m
}

// Topical returns the set judged more strictly: a question's relevant
// articles are only those where the answer appears near the question's
// words (Evidence.Topical), and questions left with none are dropped. The
// benchmark's own rule counts an article that names the answer anywhere,
// even in passing; scoring both shows how much of a figure rests on such
// mentions. Articles and weeks are shared with s.
func (s *Set) Topical() *Set {
	byURL := s.articlesByURL()
	out := &Set{Articles: s.Articles, Weeks: s.Weeks}
	for _, q := range s.Questions {
		strict := make(map[string]bool)
		for u := range q.Relevant {
			if evidence(q, byURL[u]).Topical {
				strict[u] = true
			}
		}
		if len(strict) > 0 {
			q.Relevant = strict
			out.Questions = append(out.Questions, q)
		}
	}
	return out
}

// articlesByURL indexes the pool by URL.
func (s *Set) articlesByURL() map[string]knowledge.ImportRecord {
	m := make(map[string]knowledge.ImportRecord, len(s.Articles))
	for _, a := range s.Articles {
		m[a.URL] = a
	}
	return m
}

// firstRelevant returns the 1-based rank of q's first relevant article in
// urls, or 0 if there is none.
func firstRelevant(q Question, urls []string) int {
	for i, u := range urls {
		if q.Relevant[u] {
			return i + 1
		}
	}
	return 0
}
