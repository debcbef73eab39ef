package knowledge

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultPassageWords is the passage size the store cuts articles into. It
// was chosen by measurement on the RealTime QA development weeks (see
// MEASUREMENTS.md): smaller passages dilute an article's evidence
// across many rows, larger ones approach whole-article BM25 and lose the
// precision that lets a cited passage stay short enough to quote. 220 is
// a narrow peak there (MRR@10 0.764 with --as-of; 0.715-0.747 at the other
// sizes from 160 to 300 words, 0.738 on average), so expect the average,
// not the peak, on other data. From 380 words up, Hits@10 is higher (0.956
// to 0.965 against 0.929) and MRR lower (see the README's "Hits@10 and
// passage size").
const DefaultPassageWords = 220

// maxChunkTarget caps Chunk's target so that its size arithmetic cannot
// overflow; it is far above the word count of the largest article the store
// accepts.
const maxChunkTarget = 1 << 24

// Chunk cuts text into passages of about target words. It never splits
// inside a paragraph unless the paragraph alone is much longer than target,
// and then only between sentences. A short tail joins the passage before it.
// Whitespace inside paragraphs is collapsed; paragraphs within a passage are
// separated by a blank line. A target of zero or less means
// DefaultPassageWords; one above maxChunkTarget means maxChunkTarget.
func Chunk(text string, target int) []string {
	if target <= 0 {
		target = DefaultPassageWords
	}
	target = min(target, maxChunkTarget)
	_, paras := normalize(text)
	return chunkParagraphs(paras, target)
}

// chunkParagraphs is Chunk for text already split by normalize.
func chunkParagraphs(paras []counted, target int) []string {
	if target <= 0 {
		target = DefaultPassageWords
	}
	target = min(target, maxChunkTarget)
	var units []counted
	for _, p := range paras {
		if p.words <= target*3/2 {
			units = append(units, p)
			continue
		}
		units = append(units, packSentences(Sentences(p.text), target)...)
	}

	var out []string
	var cur []string
	curWords := 0
	for _, u := range units {
		if curWords > 0 && curWords+u.words > target*5/4 {
			out = append(out, strings.Join(cur, "\n\n"))
			cur, curWords = nil, 0
		}
		cur = append(cur, u.text)
		curWords += u.words
	}
	if len(cur) > 0 {
		if len(out) > 0 && curWords < target/4 {
			out[len(out)-1] += "\n\n" + strings.Join(cur, "\n\n")
		} else {
			out = append(out, strings.Join(cur, "\n\n"))
		}
	}
	return out
}

// counted is a piece of text with its word count, so that the chunker
// counts each piece once.
type counted struct {
	text  string
	words int
}

// packSentences joins consecutive sentences into pieces of about target
// words; a single sentence longer than that is cut between words.
func packSentences(sentences []string, target int) []counted {
	var out []counted
	var b strings.Builder
	words := 0
	flush := func() {
		if b.Len() > 0 {
			out = append(out, counted{b.String(), words})
			b.Reset()
			words = 0
		}
	}
	for _, s := range sentences {
		for _, piece := range splitWords(s, target*3/2) {
			n := wordCount(piece)
			if words > 0 && words+n > target {
				flush()
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(piece)
			words += n
		}
	}
	flush()
	return out
}

// splitWords cuts s into pieces of at most max words.
func splitWords(s string, max int) []string {
	f := strings.Fields(s)
	if len(f) <= max {
		return []string{s}
	}
	var out []string
	for len(f) > 0 {
		n := min(max, len(f))
		out = append(out, strings.Join(f[:n], " "))
		f = f[n:]
	}
	return out
}

// Paragraphs splits text into paragraphs with whitespace collapsed. Blank
// lines separate paragraphs; when the text has none, each line is one.
func Paragraphs(text string) []string {
	_, paras := normalize(text)
	out := make([]string, len(paras))
	for i, p := range paras {
		out[i] = p.text
	}
	return out
}

// normalize is Paragraphs for the store: it returns the paragraphs joined
// by blank lines, as the store keeps an article's text, and the paragraphs
// as pieces of that text with their word counts. Collapsing whitespace
// counts the words as it goes, and one buffer holds them all, so an import
// neither copies an article's text per paragraph nor counts its words
// again to cut it into passages.
func normalize(text string) (string, []counted) {
	if strings.IndexByte(text, '\r') >= 0 {
		text = strings.ReplaceAll(text, "\r\n", "\n")
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	byBlank := hasInnerBlankLine(text)
	var b strings.Builder
	b.Grow(len(text))
	type span struct{ start, end, words int }
	var spans []span
	open := false // the last span is the paragraph being written
	for line := range strings.Lines(text) {
		if !byBlank {
			open = false // each line is a paragraph
		}
		words := 0
		for i := 0; i < len(line); {
			if space, size := spaceAt(line, i); space {
				i += size
				continue
			}
			start := i
			i = wordEnd(line, i)
			switch {
			case !open && b.Len() > 0:
				b.WriteString("\n\n")
				fallthrough
			case !open:
				spans = append(spans, span{start: b.Len()})
				open = true
			default:
				b.WriteByte(' ')
			}
			b.WriteString(line[start:i])
			words++
		}
		if words == 0 { // a blank line ends the paragraph
			open = false
			continue
		}
		last := &spans[len(spans)-1]
		last.end = b.Len()
		last.words += words
	}
	all := b.String()
	paras := make([]counted, len(spans))
	for i, sp := range spans {
		paras[i] = counted{all[sp.start:sp.end], sp.words}
	}
	return all, paras
}

// hasInnerBlankLine reports whether a whitespace-only line stands between
// two lines with text.
func hasInnerBlankLine(text string) bool {
	seenText, blankAfterText := false, false
	for line := range strings.Lines(text) {
		switch {
		case !isBlank(line) && blankAfterText:
			return true
		case !isBlank(line):
			seenText = true
		case seenText:
			blankAfterText = true
		}
	}
	return false
}

func isBlank(line string) bool { return strings.TrimSpace(line) == "" }

// Sentences splits a paragraph into sentences: a sentence ends at '.', '!',
// '?' (or their CJK/Arabic forms), possibly followed by closing quotes or
// brackets, when whitespace and then a capital letter, digit, quote or
// non-Latin letter follows. Abbreviations such as "U.S." and "Mr." are kept
// whole by requiring the next word to start a sentence-like token and the
// ending word to be longer than a single initial.
func Sentences(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		i += size
		if !isSentenceEnd(r) {
			continue
		}
		j := i
		for j < len(p) {
			c, sz := utf8.DecodeRuneInString(p[j:])
			if !strings.ContainsRune(`"'”’»)]`, c) {
				break
			}
			j += sz
		}
		if j >= len(p) {
			break
		}
		next, _ := utf8.DecodeRuneInString(p[j:])
		if !unicode.IsSpace(next) {
			continue
		}
		k := j
		for k < len(p) {
			c, sz := utf8.DecodeRuneInString(p[k:])
			if !unicode.IsSpace(c) {
				break
			}
			k += sz
		}
		if k >= len(p) {
			break
		}
		first, _ := utf8.DecodeRuneInString(p[k:])
		if !startsSentence(first) || (r == '.' && isAbbreviation(p[start:i])) {
			continue
		}
		if s := strings.TrimSpace(p[start:j]); s != "" {
			out = append(out, s)
		}
		start = k
		i = k
	}
	if s := strings.TrimSpace(p[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

func isSentenceEnd(r rune) bool {
	switch r {
	case '.', '!', '?', '。', '！', '？', '؟', '۔':
		return true
	}
	return false
}

func startsSentence(r rune) bool {
	if unicode.IsUpper(r) || unicode.IsDigit(r) || strings.ContainsRune(`"'“‘«(`, r) {
		return true
	}
	// Scripts without case (Arabic, Hebrew, CJK...) start sentences with
	// any letter.
	return unicode.IsLetter(r) && !unicode.IsLower(r)
}

// abbreviations are words whose trailing period rarely ends a sentence.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "sen": true, "rep": true,
	"gov": true, "gen": true, "col": true, "lt": true, "sgt": true, "st": true, "jr": true,
	"sr": true, "vs": true, "no": true, "jan": true, "feb": true, "mar": true, "apr": true,
	"jun": true, "jul": true, "aug": true, "sep": true, "sept": true, "oct": true,
	"nov": true, "dec": true, "inc": true, "corp": true, "co": true, "ltd": true, "etc": true,
}

// isAbbreviation reports whether the text before a period ends with an
// initial ("U.S.", "J.") or a common abbreviation ("Mr.").
func isAbbreviation(before string) bool {
	before = strings.TrimSuffix(before, ".")
	i := strings.LastIndexFunc(before, func(r rune) bool { return unicode.IsSpace(r) })
	word := before[i+1:]
	if word == "" {
		return false
	}
	if strings.Contains(word, ".") || utf8.RuneCountInString(word) == 1 {
		return true
	}
	return abbreviations[strings.ToLower(word)]
}

// wordCount counts the words of s without building them, since the
// chunker counts every piece of a long paragraph. It agrees with
// len(strings.Fields(s)).
func wordCount(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if space, size := spaceAt(s, i); space {
			i += size
			continue
		}
		i = wordEnd(s, i)
		n++
	}
	return n
}

// spaceAt reports whether the character at s[i] is a space, as
// unicode.IsSpace says, and its length in bytes. ASCII is looked up in a
// table rather than decoded.
func spaceAt(s string, i int) (bool, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiSpace[c], 1
	}
	return spaceRune(s[i:])
}

// wordEnd returns where the word starting at s[i] ends: at the next
// space, or at the end of s. It reads ASCII through a table, a character
// at a time, since most of an article's bytes are inside its words.
func wordEnd(s string, i int) int {
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if asciiSpace[c] {
				return i
			}
			i++
			continue
		}
		space, size := spaceRune(s[i:])
		if space {
			return i
		}
		i += size
	}
	return i
}

// spaceRune is spaceAt outside ASCII.
func spaceRune(s string) (bool, int) {
	r, size := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r), size
}

// asciiSpace marks the ASCII characters unicode.IsSpace accepts.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
