package knowledge

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"parley/prompts"
)

var (
	// citeGroup matches "[1]", "[1, 3]", "[1][2]" is two groups. Numbers
	// of any length match, so that "[1000]" is dropped rather than left
	// looking like a citation.
	citeGroup = regexp.MustCompile(`\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]`)
	// links matches Markdown links and bare URLs a model may write.
	mdLinkRe = regexp.MustCompile(`\[([^\]\n]{1,200})\]\((?:https?://|www\.)[^)\s]*\)`)
	// A scheme counts wherever it starts ("xhttps://y", a bare "https://").
	bareURLRe = regexp.MustCompile(`(?i)<?(?:https?://|\bwww\.)[^\s<>()\[\]]*>?`)
	// quoteRe matches text between straight or curly double quotes.
	quoteRe = regexp.MustCompile(`"([^"\n]{1,600})"|“([^”\n]{1,600})”|«([^»\n]{1,600})»`)
)

// checkAnswer turns a model's raw text into a checked Answer:
//   - a reply that starts with the no-answer marker is a refusal;
//   - links the model wrote are removed (links come from the store);
//   - citations to sources that were not sent are removed, the rest are
//     renumbered 1..n in order of first use;
//   - an answer left without any valid citation becomes a refusal;
//   - quotations not found verbatim in a cited passage are marked.
func checkAnswer(raw string, sources []Result) Answer {
	text := strings.TrimSpace(raw)
	if text == "" || strings.HasPrefix(strings.TrimLeft(text, "*_` "), prompts.NoAnswerMarker) {
		return refusal("", nil)
	}
	// A marker after a partial answer means the model hedged; keep the
	// answer, drop the marker. Removing a marker, a link or a citation can
	// join the text on either side into a new one ("ht[9]tps://x" becomes a
	// link, "[[9]1]" a citation), so the text is cleaned until nothing
	// changes. Each round that changes the text removes digits, or
	// separators between cited numbers, or shortens it, so this ends.
	dropped := 0
	for {
		next := strings.ReplaceAll(text, prompts.NoAnswerMarker, "")
		next = mdLinkRe.ReplaceAllString(next, "$1")
		next = bareURLRe.ReplaceAllString(next, "")
		next = tidySpaces(citeGroup.ReplaceAllStringFunc(next, func(g string) string {
			return expandCitations(g, len(sources), &dropped, func(n int) int { return n })
		}))
		if next == text {
			break
		}
		text = next
	}

	// Every citation left names a sent source; number them by first use.
	renumber := make(map[int]int) // sent number -> shown number
	var cited []Citation
	text = citeGroup.ReplaceAllStringFunc(text, func(g string) string {
		return expandCitations(g, len(sources), &dropped, func(n int) int {
			shown, ok := renumber[n]
			if !ok {
				shown = len(cited) + 1
				renumber[n] = shown
				cited = append(cited, citationOf(shown, sources[n-1]))
			}
			return shown
		})
	})
	if len(cited) == 0 {
		a := refusal("", nil)
		a.Dropped = dropped
		return a
	}
	text, unverified := markUnverifiedQuotes(text, cited)
	return Answer{Text: text, Citations: cited, AsOf: newest(cited), Unverified: unverified, Dropped: dropped}
}

// expandCitations rewrites a citation group such as "[1, 3]" as "[1][3]",
// numbers mapped through show. Numbers outside 1..sent are dropped and
// counted in dropped.
func expandCitations(g string, sent int, dropped *int, show func(int) int) string {
	var out strings.Builder
	for _, f := range strings.FieldsFunc(strings.Trim(g, "[] "), func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > sent {
			*dropped++
			continue
		}
		out.WriteString("[" + strconv.Itoa(show(n)) + "]")
	}
	return out.String()
}

// scrubQuoted removes links and bracketed numbers from text quoted as-is
// from a source, so that in an answer only Parley's own citations look like
// citations. Like checkAnswer, it repeats until nothing changes, since a
// removal can join the text around it into a new link or bracket.
func scrubQuoted(s string) string {
	for {
		next := mdLinkRe.ReplaceAllString(s, "$1")
		next = bareURLRe.ReplaceAllString(next, "")
		next = tidySpaces(citeGroup.ReplaceAllString(next, ""))
		if next == s {
			return s
		}
		s = next
	}
}

// newest returns the latest publication date among citations.
func newest(cs []Citation) time.Time {
	var t time.Time
	for _, c := range cs {
		if c.PublishedAt.After(t) {
			t = c.PublishedAt
		}
	}
	return t
}

// markUnverifiedQuotes checks each quotation of three words or more against
// the cited passages, ignoring case, whitespace and quote style. A quotation
// found nowhere is marked "(unverified quote)" after its closing mark.
// Short quotations ("scare quotes" around a word or two) are left alone.
func markUnverifiedQuotes(text string, cited []Citation) (string, []string) {
	var hay []string
	for _, c := range cited {
		hay = append(hay, normQuote(c.Passage))
	}
	var unverified []string
	out := quoteRe.ReplaceAllStringFunc(text, func(m string) string {
		sub := quoteRe.FindStringSubmatch(m)
		q := sub[1] + sub[2] + sub[3]
		if len(strings.Fields(q)) < 3 {
			return m
		}
		nq := normQuote(strings.TrimRight(q, ".,;:!? "))
		for _, h := range hay {
			if strings.Contains(h, nq) {
				return m
			}
		}
		unverified = append(unverified, q)
		return m + " (unverified quote)"
	})
	return out, unverified
}

var quoteFolder = strings.NewReplacer("“", `"`, "”", `"`, "„", `"`, "«", `"`, "»", `"`, "‘", "'", "’", "'", "‚", "'", "‛", "'")

// normQuote folds quote styles, case and runs of whitespace.
func normQuote(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(quoteFolder.Replace(s)), " "))
}

var spaceBeforePunct = regexp.MustCompile(`[ \t]+([.,;:!?])`)

// tidySpaces removes the double spaces and orphan spaces before punctuation
// that deleting links and citations leaves behind.
func tidySpaces(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.Join(strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
		lines[i] = spaceBeforePunct.ReplaceAllString(l, "$1")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
