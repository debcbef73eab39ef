package knowledge

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxQueryTerms caps how many terms a question contributes to the full-text
// query, so that a 10 KB paste cannot build a query that scans the index for
// minutes.
const maxQueryTerms = 32

// maxTermLen drops "words" that are really base64 blobs or URLs run
// together. It counts characters, not bytes, so that long words of scripts
// with multi-byte letters (Arabic, Hebrew, Thai) still count as words.
const maxTermLen = 40

// Terms extracts search terms from a natural-language question: lower-cased
// runs of letters and digits (the same tokens FTS5's unicode61 tokenizer
// produces), stop words and the words of the question's form ("how long",
// "what is the name of") dropped, duplicates removed, at most maxQueryTerms
// in order of first appearance. If every word is a stop word, the stop words
// are kept so "Who is who?" still searches for something.
func Terms(question string) []string {
	words := tokenize(question)
	var terms, stops []string
	seen := make(map[string]bool)
	for i, w := range words {
		if seen[w] || utf8.RuneCountInString(w) > maxTermLen {
			continue
		}
		if questionForm(words, i) {
			continue
		}
		seen[w] = true
		if stopWords[w] {
			stops = append(stops, w)
			continue
		}
		terms = append(terms, w)
	}
	if len(terms) == 0 {
		terms = stops
	}
	if len(terms) > maxQueryTerms {
		terms = terms[:maxQueryTerms]
	}
	return terms
}

// tokenize splits text into lower-cased runs of letters, marks and digits.
func tokenize(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	})
}

// MatchQuery is the FTS5 MATCH expression Search uses for question: its
// terms (see Terms), quoted and OR-ed; "" when it has none. Baselines that
// search the same way call it rather than build their own.
func MatchQuery(question string) string { return matchExpr(Terms(question)) }

// matchExpr turns terms into an FTS5 query that ORs them together. Every term
// is a double-quoted string, so no user text is ever read as FTS5 syntax
// (column filters, NEAR, AND/OR/NOT, prefix stars, carets). Terms hold only
// letters and digits, so they cannot contain a quote. An empty slice gives "".
func matchExpr(terms []string) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('"')
		b.WriteString(t)
		b.WriteByte('"')
	}
	return b.String()
}

// questionForm reports whether words[i] belongs to the question's form
// rather than to what it is about: the degree word of "how long did it
// last?", which asks for a length of time, not about long things; and the
// category noun of "what is the name of the envoy?" or "which kind of deal?",
// which says what sort of answer is wanted. Elsewhere in a question the same
// words are search terms.
func questionForm(words []string, i int) bool {
	w := words[i]
	if i > 0 && words[i-1] == "how" && howDegree[w] {
		return true
	}
	if !categoryNoun[w] || i+1 == len(words) || words[i+1] != "of" {
		return false
	}
	for _, p := range words[max(0, i-3):i] {
		if p == "what" || p == "which" {
			return true
		}
	}
	return false
}

// howDegree are the words that follow "how" in a question's form ("how
// many" and "how much" need no rule: both are stop words).
var howDegree = map[string]bool{
	"long": true, "old": true, "far": true, "often": true, "soon": true,
	"big": true, "large": true, "high": true, "tall": true,
}

// categoryNoun are the nouns of "what is the name of", "which type of",
// "what kind of" and "what sort of".
var categoryNoun = map[string]bool{"name": true, "type": true, "kind": true, "sort": true}

// stopWords are English function words and question words that carry no
// topic: matching them only adds noise to BM25.
var stopWords = func() map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(`
a about above after again against all also am an and any are aren as at be because
been before being below between both but by can cannot could couldn did didn do does
doesn doing don down during each either else ever few for from further get gets got had
hadn has hasn have haven having he her here hers herself him himself his how however i
if in into is isn it its itself just let like ll many me might more most much must mustn my
myself neither no nor not now of off on once only or other ought our ours ourselves out
over own per rather re s said same say says shall shan she should shouldn since so some
still such t than that the their theirs them themselves then there these they this those
through thus to too under until up upon ve very was wasn we were weren what whatever
when whenever where whereas whether which while who whom whose why will with within
without won would wouldn yet you your yours yourself yourselves
according week weeks recently recent latest news tell know happened happening
`) {
		m[w] = true
	}
	return m
}()
