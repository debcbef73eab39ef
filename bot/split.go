package bot

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessage is Discord's limit on a message's content, in characters.
const maxMessage = 2000

// textLen measures s as Discord might: in UTF-16 code units, which is never
// less than the number of code points, so a text within the limit by this
// measure is within it by either.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// prefixWithin returns the largest byte index i on a rune boundary such that
// textLen(s[:i]) <= limit.
func prefixWithin(s string, limit int) int {
	n := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > limit {
			return i
		}
		n += w
	}
	return len(s)
}

// atoms are runs of text a message must not be cut inside: citations
// ("[3]", "[1, 2]"), links wrapped in angle brackets, bare URLs and custom
// emoji or mention markup.
var atoms = regexp.MustCompile(`\[\d+(?:\s*[,;–-]\s*\d+)*\]|<[^<>\s]+>|https?://\S+`)

// splitMessage cuts text into messages of at most max characters (by
// textLen). It cuts, in order of preference, at a paragraph break, a line
// break, the end of a sentence or a space, taking the last such place in
// the window unless that leaves the piece under a third of it; it never
// cuts inside a citation or a link, never starts a piece with a citation
// that belongs to the sentence before, and never splits a UTF-8 sequence.
// Only a single word, citation or link longer than max is cut in the
// middle, at a character boundary. Whitespace at the cuts is dropped; an
// empty or blank text gives no messages.
func splitMessage(text string, max int) []string {
	text = strings.TrimSpace(text)
	var out []string
	for text != "" {
		if textLen(text) <= max {
			out = append(out, text)
			break
		}
		limit := prefixWithin(text, max)
		cut := bestCut(text, limit)
		piece := strings.TrimRightFunc(text[:cut], unicode.IsSpace)
		if piece == "" { // cannot happen with text trimmed; guards the loop
			piece, cut = text[:limit], limit
		}
		out = append(out, piece)
		text = strings.TrimLeftFunc(text[cut:], unicode.IsSpace)
	}
	return out
}

// bestCut returns where to end the piece that starts text, a byte index in
// (0, limit], where text[:limit] is the most that fits.
func bestCut(text string, limit int) int {
	// Atoms that reach into the window; one that straddles limit forbids
	// cuts inside it, so scan a little past limit.
	scan := text[:min(len(text), limit+256)]
	spans := atoms.FindAllStringIndex(scan, -1)
	inside := make([]bool, limit+1) // inside[p]: a cut at p would split an atom
	for _, s := range spans {
		for p := s[0] + 1; p < s[1] && p <= limit; p++ {
			inside[p] = true
		}
	}
	inAtom := func(p int) bool { return inside[p] }
	startsCitation := func(p int) bool {
		rest := strings.TrimLeftFunc(text[p:], unicode.IsSpace)
		return len(rest) > 1 && rest[0] == '[' && rest[1] >= '0' && rest[1] <= '9'
	}
	window := text[:limit]
	floor := limit / 3

	// lastBefore finds the last p in window where ok(p) holds, above lo.
	lastBefore := func(lo int, ok func(p int) bool) int {
		for p := len(window); p > lo; p-- {
			if !inAtom(p) && (p == len(text) || utf8.RuneStart(text[p])) && ok(p) {
				return p
			}
		}
		return -1
	}
	isSpaceAt := func(p int) bool {
		if p >= len(text) {
			return false
		}
		r, _ := utf8.DecodeRuneInString(text[p:])
		return unicode.IsSpace(r)
	}
	paragraph := func(p int) bool { return strings.HasPrefix(text[p:], "\n\n") }
	line := func(p int) bool { return p < len(text) && text[p] == '\n' }
	sentence := func(p int) bool {
		if !isSpaceAt(p) || startsCitation(p) {
			return false
		}
		// Only the end of the text before p matters; a bounded tail keeps
		// each test cheap.
		before := strings.TrimRight(text[max(0, p-64):p], `"'”’»)*_`)
		// "... talks resumed [2]." and "... resumed. [2]" both end a
		// sentence after the citation.
		if strings.HasSuffix(before, "]") {
			if i := strings.LastIndexByte(before, '['); i >= 0 && atoms.MatchString(before[i:]) {
				before = strings.TrimRight(before[:i], " ")
			}
		}
		return strings.HasSuffix(before, ".") || strings.HasSuffix(before, "!") ||
			strings.HasSuffix(before, "?") || strings.HasSuffix(before, "…") || strings.HasSuffix(before, ":")
	}
	space := func(p int) bool { return isSpaceAt(p) && !startsCitation(p) }
	anySpace := func(p int) bool { return isSpaceAt(p) }

	for _, ok := range []func(int) bool{paragraph, line, sentence} {
		if p := lastBefore(floor, ok); p > 0 {
			return p
		}
	}
	for _, ok := range []func(int) bool{space, anySpace} {
		if p := lastBefore(0, ok); p > 0 {
			return p
		}
	}
	// One word, link or citation fills the window: cut before the atom
	// that straddles the limit if there is text before it, else inside.
	for _, s := range spans {
		if s[0] < limit && limit < s[1] && s[0] > 0 {
			return s[0]
		}
	}
	return limit
}

// clipMessage shortens s to fit one message, at a boundary splitMessage
// would choose, marking the cut with an ellipsis.
func clipMessage(s string) string {
	return clip(s, maxMessage)
}

// clip shortens s to at most max characters (by textLen), cutting where
// splitMessage would and adding "…" when it cuts.
func clip(s string, max int) string {
	s = strings.TrimSpace(s)
	if textLen(s) <= max {
		return s
	}
	parts := splitMessage(s, max-1)
	return parts[0] + "…"
}
