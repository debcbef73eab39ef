package knowledge

import (
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
)

// Extractive answers: with no model configured, Parley answers by choosing
// the few sentences of the retrieved passages that best cover the question,
// each cited. The choice favours sentences that contain the question's rarer
// words, from better-ranked passages, and drops near-repeats, so the answer
// is short and on the question rather than a dump of passages.
const (
	// extractiveSentences is the most sentences an answer quotes.
	extractiveSentences = 3
	// extractiveWords caps the answer's length in words.
	extractiveWords = 110
	// minCoverage is the share of the question's (weighted) words the best
	// sentence must contain; below it the sources are judged not to
	// answer, and Parley says so.
	minCoverage = 0.4
	// titleShare is how much a question word found only in the sentence's
	// article title counts, against one found in the sentence.
	titleShare = 0.8
	// entityBonus favours, for questions whose answer is a name, a
	// sentence that names something the question does not.
	entityBonus = 0.2
	// settingShare is how much a word counts when it appears only in the
	// sentences that set a question up ("The first phase has ended. What
	// does Hamas want now?"), against one in the sentence that asks. Measured on the
	// RealTime QA development weeks, answers that quote the right answer by
	// share: 1 (no difference) 51, 0.7 51, 0.5 52, 0.3 53; at 0.3, 22 -> 23
	// and 29 -> 30 over each half of the weeks alone.
	settingShare = 0.3
	// placeBonus favours, for a question that asks which country or which
	// US state, a sentence that names one the question does not. On the
	// RealTime QA development weeks it took answers that quote the right
	// answer from 53 to 55 (23 -> 24 and 30 -> 31 over each half), the
	// same for any bonus from 0.1 to 0.3.
	placeBonus = 0.2
	// relatedShare is how much a question word counts when a sentence has
	// a related form of it rather than the word itself: "threaten" and
	// "threats", "Israel" and "Israeli", which the stemmer keeps apart.
	// On the RealTime QA development weeks it changed no answer at any
	// share from 0.5 to 1; on RGB it answered one more question right.
	relatedShare = 0.8
	// minRelatedPrefix is the shortest stem that another stem may extend
	// and count as its related form: "threat" -> "threaten", but not
	// "part" -> "party".
	minRelatedPrefix = 5
)

type candidate struct {
	text     string
	source   int // index into sources
	pos      int // sentence position within its passage
	stems    map[string]bool
	title    map[string]bool // stems of the article's title: context
	bigrams  map[string]bool // adjacent stem pairs of the sentence
	coverage float64
	score    float64
}

func extractiveAnswer(question string, sources []Result) Answer {
	qstems := stemSet(Terms(question))
	if len(qstems) == 0 {
		return refusal(question, nil)
	}
	// Sums over the question's stems run in a fixed order, so that the
	// same question always gets the same answer: map order would change
	// the last bits of the scores, and with them near-ties.
	qlist := make([]string, 0, len(qstems))
	for t := range qstems {
		qlist = append(qlist, t)
	}
	sort.Strings(qlist)
	var cands []candidate
	for i, r := range sources {
		pos := 0
		title := stemSet(tokenize(r.Title))
		for _, para := range Paragraphs(r.Text) {
			for _, s := range Sentences(para) {
				// Quoted as-is, a sentence must not bring its own
				// footnote numbers or links into the answer.
				s = scrubQuoted(s)
				n := len(strings.Fields(s))
				if n < 4 || n > 80 || isBoilerplate(s) {
					pos++
					continue
				}
				words := tokenize(s)
				cands = append(cands, candidate{text: s, source: i, pos: pos, stems: stemSet(words), title: title, bigrams: bigramSet(words)})
				pos++
			}
		}
	}
	if len(cands) == 0 {
		return refusal(question, nil)
	}

	// holds says how much of the question's stem t a sentence has: all of
	// it, or relatedShare for a related form.
	related := relatedForms(qlist, cands)
	holds := func(c *candidate, t string) float64 {
		switch {
		case c.stems[t]:
			return 1
		case slices.ContainsFunc(related[t], func(r string) bool { return c.stems[r] }):
			return relatedShare
		}
		return 0
	}
	// Inverse document frequency over the candidate sentences: a question
	// word found in every sentence ("Hamas" in a store about Hamas) tells
	// little; a rare one ("Doha") tells a lot.
	df := make(map[string]int)
	for _, c := range cands {
		for _, t := range qlist {
			if holds(&c, t) > 0 {
				df[t]++
			}
		}
	}
	weight := make(map[string]float64)
	total := 0.0
	ask := askingSentence(question)
	asking := stemSet(Terms(ask))
	for _, t := range qlist {
		w := math.Log(1 + float64(len(cands))/float64(1+df[t]))
		if !asking[t] {
			w *= settingShare
		}
		weight[t] = w
		total += w
	}
	wantsTime := asksWhen(ask)
	wantsWho := whoRe.MatchString(ask)
	wantsEntity := entityRe.MatchString(ask)
	place := asksForPlace(ask)
	qwords := make(map[string]bool)
	for _, w := range tokenize(question) {
		qwords[w] = true
	}
	qbigrams := bigramSet(tokenize(question))
	for i := range cands {
		c := &cands[i]
		got := 0.0
		for _, t := range qlist {
			h := holds(c, t)
			switch {
			case h > 0:
				got += h * weight[t]
			case c.title[t]:
				// The article is about it even if this sentence does
				// not say it again ("What does Hamas want next?"
				// answered from an article titled so).
				got += titleShare * weight[t]
			}
		}
		c.coverage = got / total
		pairs := 0 // "first phase" side by side beats "first" and "phase" apart
		for b := range qbigrams {
			if c.bigrams[b] {
				pairs++
			}
		}
		c.coverage += 0.1 * float64(pairs)
		c.score = c.coverage + 0.15/float64(1+c.source) + 0.05/float64(1+c.pos)
		if wantsTime && timeLike.MatchString(c.text) {
			c.score += 0.15
		}
		if wantsWho && namesSomeone.MatchString(c.text) {
			c.score += 0.1
		}
		if place != noPlace && namesNewPlace(c.text, place, qwords) {
			c.score += placeBonus
		}
		if wantsEntity && hasNewName(c.text, qwords) {
			c.score += entityBonus
		}
		if startsWithPronoun(c.text) {
			// "He said..." read alone does not say who; prefer a
			// sentence that names its speaker.
			c.score -= 0.25
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	best, bestStated := 0.0, 0.0
	for _, c := range cands {
		best = max(best, c.coverage)
		if !incomplete(c.text) {
			bestStated = max(bestStated, c.coverage)
		}
	}
	if best < minCoverage {
		return refusal(question, nil)
	}
	// A heading that asks the question back ("Will Hamas demand more?")
	// covers it best and answers nothing: it sets no bar for the sentences
	// that state something, when one of them covers enough.
	bar := best
	if bestStated >= minCoverage {
		bar = bestStated
	}
	quotable := func(c candidate) bool { return c.coverage >= bar*0.6 && c.coverage >= minCoverage*0.75 }
	if asksHowMany.MatchString(ask) && !slices.ContainsFunc(cands, func(c candidate) bool {
		return quotable(c) && givesQuantity(c.text)
	}) {
		// "How many hostages are still held?" answered with sentences that
		// mention hostages but give no number is no answer: say so.
		return refusal(question, nil)
	}

	// Some quotable sentences answer nothing: for a "how many" question,
	// one that gives no quantity; for a "when" question, one that gives no
	// time ("Hamas wants talks to start now"); for a "where" question, one
	// that names no place; for any question, a question or the lead-in to
	// a list ("Its demands include:"). Each test leaves such sentences out
	// once any quotable sentence passes it.
	var tests []func(string) bool
	switch {
	case asksHowMany.MatchString(ask):
		tests = append(tests, givesQuantity)
	case wantsTime:
		tests = append(tests, timeLike.MatchString)
	case asksWhere.MatchString(ask):
		tests = append(tests, func(s string) bool { return namesAPlace(s, qwords) })
	}
	tests = append(tests, func(s string) bool { return !incomplete(s) })
	answers := quotable
	for _, test := range tests {
		passes := answers
		if next := func(c candidate) bool { return passes(c) && test(c.text) }; slices.ContainsFunc(cands, next) {
			answers = next
		}
	}
	var picked []candidate
	words := 0
	for _, c := range cands {
		if len(picked) == extractiveSentences || !quotable(c) {
			break
		}
		if !answers(c) {
			continue
		}
		n := len(strings.Fields(c.text))
		if len(picked) > 0 && words+n > extractiveWords {
			continue
		}
		if nearDuplicate(c, picked) {
			continue
		}
		picked = append(picked, c)
		words += n
	}

	num := make(map[int]int)
	var cited []Citation
	var b strings.Builder
	for _, c := range picked {
		n, ok := num[c.source]
		if !ok {
			n = len(cited) + 1
			num[c.source] = n
			cited = append(cited, citationOf(n, sources[c.source]))
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.TrimSpace(c.text))
		b.WriteString(" [")
		b.WriteString(strconv.Itoa(n))
		b.WriteString("]")
	}
	return Answer{Question: question, Text: b.String(), Citations: cited, AsOf: newest(cited), Extractive: true}
}

// askingSentence returns the sentence of question that asks: the last one
// ending in a question mark, else the last one. The sentences before it set
// the scene, and the answer rarely repeats them.
func askingSentence(question string) string {
	sentences := Sentences(question)
	for i := len(sentences) - 1; i >= 0; i-- {
		if strings.ContainsAny(lastRune(strings.TrimSpace(sentences[i])), "?？؟") {
			return sentences[i]
		}
	}
	if len(sentences) == 0 {
		return question
	}
	return sentences[len(sentences)-1]
}

// lastRune returns the last character of s, or "".
func lastRune(s string) string {
	_, n := utf8.DecodeLastRuneInString(s)
	return s[len(s)-n:]
}

// nearDuplicate reports whether c says much the same as an already picked
// sentence (the same wire copy in two outlets, say).
func nearDuplicate(c candidate, picked []candidate) bool {
	for _, p := range picked {
		inter := 0
		for t := range c.stems {
			if p.stems[t] {
				inter++
			}
		}
		union := len(c.stems) + len(p.stems) - inter
		if union > 0 && float64(inter)/float64(union) >= 0.5 {
			return true
		}
	}
	return false
}

var (
	timeLike = regexp.MustCompile(`(?i)\b(\d{1,2}|\d{4}|january|february|march|april|may|june|july|august|september|october|november|december|` + dayName + `|yesterday|today|week|month)\b`)
	whenRe   = regexp.MustCompile(`(?i)^\s*(when|what (day|date|time|year|month))\b|\bsince when\b|\bhow long\b`)
)

// monthName and dayName match the names of the months, whole or cut short
// ("Feb", "Sept"), and of the weekdays: in the date and time patterns here,
// and to tell a date from a place ("in March", not "in Doha").
const (
	monthName = `jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?`
	dayName   = `monday|tuesday|wednesday|thursday|friday|saturday|sunday`
)

func asksWhen(q string) bool { return whenRe.MatchString(q) }

var asksWhere = regexp.MustCompile(`(?i)^\s*where\b`)

// givesQuantity reports whether sentence s can answer "how many": whether
// it states a quantity once its dates are set aside, since "on 19 January
// 2025" counts nothing.
func givesQuantity(s string) bool {
	return statesQuantity.MatchString(dateLike.ReplaceAllString(s, " "))
}

var (
	asksHowMany = regexp.MustCompile(`(?i)\bhow (many|much)\b`)
	// statesQuantity matches a sentence that can answer "how many": a
	// digit, a number word, or a quantifier ("no aid", "every crossing",
	// "all of them").
	statesQuantity = regexp.MustCompile(`(?i)\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|millions?|billions?|half|twice|both|single|no|none|all|every|zero|nothing|few|several)\b`)
	// dateLike matches dates and times ("19 January 2025", "Jan. 19",
	// "2025", "7 p.m."), whose digits count nothing. A bare year and a
	// count of the same digits ("2000 troops") cannot be told apart, and
	// are taken for a year.
	dateLike = regexp.MustCompile(`(?i)\b(` + monthName + `)\.?\s+\d{1,2}(st|nd|rd|th)?\b(,?\s+\d{4}\b)?|\b\d{1,2}(st|nd|rd|th)?\s+(of\s+)?(` + monthName + `)\b(,?\s+\d{4}\b)?|\b(1[89]|20)\d\d\b|\b\d{1,2}(:\d\d)?\s*[ap]\.?m\b\.?`)
)

var (
	whoRe = regexp.MustCompile(`(?i)^\s*(who|whom|whose)\b`)
	// namesSomeone matches two capitalised words in a row after the
	// sentence's first word: "Adam Boehler", "White House".
	namesSomeone = regexp.MustCompile(`\S\s+\p{Lu}\p{Ll}+\s+\p{Lu}\p{Ll}+`)
)

// entityRe matches questions whose answer is a name: "Which country...",
// "Who...", "Where...", "What is the name...".
var entityRe = regexp.MustCompile(`(?i)^\s*(which|who|whom|whose|where|what (is|was|are|were) the name)\b|\b(which|what) (country|city|state|company|team|person|group|agency|organi[sz]ation)\b`)

// hasNewName reports whether s has a capitalised word, other than its
// first, that the question does not contain: a candidate answer.
func hasNewName(s string, qwords map[string]bool) bool {
	fields := strings.Fields(s)
	for i, f := range fields {
		if i == 0 {
			continue
		}
		f = strings.Trim(f, `.,;:!?"'()[]“”‘’`)
		r, _ := utf8.DecodeRuneInString(f)
		if unicode.IsUpper(r) && len(f) > 1 && !qwords[strings.ToLower(f)] && !stopWords[strings.ToLower(f)] {
			return true
		}
	}
	return false
}

var pronounStart = regexp.MustCompile(`^(He|She|They|It|His|Her|Their|Its|This|These|Those)\b`)

func startsWithPronoun(s string) bool { return pronounStart.MatchString(s) }

// incomplete reports whether sentence s asks a question or opens a list
// rather than stating something: whether it ends in "?" or ":", closing
// quotes and brackets aside.
func incomplete(s string) bool {
	s = strings.TrimRight(s, " \"'”’)]")
	return strings.HasSuffix(s, "?") || strings.HasSuffix(s, ":")
}

// isBoilerplate drops sentences that describe the source rather than the
// news, such as the starter briefs' note on how they were written.
func isBoilerplate(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "this brief was written") || strings.Contains(l, "all rights reserved") ||
		strings.HasPrefix(l, "sign up") || strings.HasPrefix(l, "subscribe")
}

// stemSet maps words to their stems so that "negotiations" meets
// "negotiating" and "talks" meets "talk", leaving out stop words.
func stemSet(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		if stopWords[w] {
			continue
		}
		m[stem(w)] = true
	}
	return m
}

// bigramSet returns the adjacent pairs of non-stop stems in words, joined
// by a space.
func bigramSet(words []string) map[string]bool {
	m := make(map[string]bool)
	prev := ""
	for _, w := range words {
		if stopWords[w] {
			prev = ""
			continue
		}
		st := stem(w)
		if prev != "" {
			m[prev+" "+st] = true
		}
		prev = st
	}
	return m
}

// relatedForms returns, for each of the question's stems, the stems of
// the candidate sentences that extend it or that it extends, by at least
// minRelatedPrefix letters in common: the question's "threaten" finds the
// sentences' "threat", its "Israel" their "Israeli".
func relatedForms(qlist []string, cands []candidate) map[string][]string {
	related := make(map[string][]string)
	seen := make(map[string]bool)
	for _, c := range cands {
		for s := range c.stems {
			if seen[s] {
				continue
			}
			seen[s] = true
			for _, t := range qlist {
				short, long := t, s
				if len(s) < len(t) {
					short, long = s, t
				}
				if s != t && len(short) >= minRelatedPrefix && strings.HasPrefix(long, short) {
					related[t] = append(related[t], s)
				}
			}
		}
	}
	return related
}

// stem reduces an English word to its Porter2 (Snowball) stem, the same
// family of stemmer FTS5's porter tokenizer uses for search, so that the
// sentence picker agrees with retrieval on what counts as the same word.
// Words in other scripts come back unchanged. A number from one to ten,
// as a word, in digits or as an ordinal, comes back as one form, so that
// "phase two" meets "the second phase" and "phase 2".
func stem(w string) string {
	if n, ok := numberForms[w]; ok {
		return n
	}
	if !isASCIIWord(w) {
		return w
	}
	return english.Stem(w, true)
}

// numberForms maps "two", "2", "second" and "2nd" to "#2", and so on from
// one to ten. No stem starts with "#", since words hold only letters and
// digits. "One" the pronoun and "second" the unit of time match too; a
// number is rarely a question's only rare word, and their frequency
// among the sources keeps their weight low.
var numberForms = func() map[string]string {
	m := make(map[string]string)
	for i, forms := range [][]string{
		{"one", "first", "1st"}, {"two", "second", "2nd"}, {"three", "third", "3rd"},
		{"four", "fourth", "4th"}, {"five", "fifth", "5th"}, {"six", "sixth", "6th"},
		{"seven", "seventh", "7th"}, {"eight", "eighth", "8th"}, {"nine", "ninth", "9th"},
		{"ten", "tenth", "10th"},
	} {
		n := strconv.Itoa(i + 1)
		m[n] = "#" + n
		for _, f := range forms {
			m[f] = "#" + n
		}
	}
	return m
}()

func isASCIIWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] >= 0x80 {
			return false
		}
	}
	return true
}
