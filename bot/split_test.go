package bot

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSplitMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"short", "Hello there.", 20, []string{"Hello there."}},
		{"blank", " \n\n ", 20, nil},
		{"exactly max", "12345", 5, []string{"12345"}},
		{"paragraphs first", "First paragraph here.\n\nSecond one. More words.", 30,
			[]string{"First paragraph here.", "Second one. More words."}},
		{"line breaks", "Sources\n[1] One\n[2] Two", 16, []string{"Sources\n[1] One", "[2] Two"}},
		{"sentences", "One two three. Four five six. Seven.", 20, []string{"One two three.", "Four five six.", "Seven."}},
		{"words kept whole", "alpha beta gamma delta", 12, []string{"alpha beta", "gamma delta"}},
		{"citation stays with its sentence", "Talks resumed. [1] Then more text", 20,
			[]string{"Talks resumed. [1]", "Then more text"}},
		{"citation stays with its word", "Talks resumed today [12] and more", 22,
			[]string{"Talks resumed", "today [12] and more"}},
		{"multi citation not cut", "Claims differ [1, 2] widely", 17, []string{"Claims", "differ [1, 2]", "widely"}},
		{"sentence ends after citation", "Qatar mediates [1]. Egypt hosts [2].", 22,
			[]string{"Qatar mediates [1].", "Egypt hosts [2]."}},
		{"link kept whole", "See the report <https://ex.com/r/1> today", 30,
			[]string{"See the report", "<https://ex.com/r/1> today"}},
		{"bare link kept whole", "Read https://ex.com/a/b/c now please", 25,
			[]string{"Read https://ex.com/a/b/c", "now please"}},
		{"link longer than max is cut", "<https://example.com/abcdefgh>", 12,
			[]string{"<https://exa", "mple.com/abc", "defgh>"}},
		{"hebrew words", "שלום עולם שלום עולם", 10, []string{"שלום עולם", "שלום עולם"}},
		{"emoji count double", "😀😀😀😀😀😀", 5, []string{"😀😀", "😀😀", "😀😀"}},
		{"long word cut at rune boundary", "aééééééééé", 4, []string{"aééé", "éééé", "éé"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitMessage(tc.text, tc.max)
			if !slices.Equal(got, tc.want) {
				t.Errorf("splitMessage(%q, %d) = %q, want %q", tc.text, tc.max, got, tc.want)
			}
			for _, p := range got {
				if textLen(p) > tc.max || !utf8.ValidString(p) {
					t.Errorf("piece %q: %d characters (max %d), valid UTF-8 %v", p, textLen(p), tc.max, utf8.ValidString(p))
				}
			}
		})
	}
}

// TestSplitMessageProperties splits random texts built from words,
// citations, links, Hebrew, emoji and breaks, checking the rules hold.
func TestSplitMessageProperties(t *testing.T) {
	t.Parallel()
	vocab := []string{"the", "talks", "resumed", "in", "Doha", "ceasefire", "hostages", "[1]", "[2, 3]", "[12]",
		"<https://example.com/news/2025/03/08/talks-resume>", "https://example.org/a?b=c", "שלום", "مفاوضات", "😀",
		"👍🏽", "negotiators.", "said:", "Qatar's", "(Egypt)", "**bold**", "\n", "\n\n", "-", "é"}
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 100 {
		var words []string
		for range r.IntN(600) {
			words = append(words, vocab[r.IntN(len(vocab))])
		}
		text := strings.Join(words, " ")
		for _, max := range []int{60, 200, 2000} {
			pieces := splitMessage(text, max)
			for _, p := range pieces {
				if p == "" || textLen(p) > max || !utf8.ValidString(p) {
					t.Fatalf("iter %d max %d: bad piece %q", iter, max, p)
				}
				if r, _ := utf8.DecodeRuneInString(p); unicode.IsSpace(r) {
					t.Fatalf("iter %d: piece starts with space: %q", iter, p)
				}
			}
			// Nothing lost or changed but whitespace at the cuts, and no
			// word, citation or link cut (all are shorter than max).
			if got, want := strings.Fields(strings.Join(pieces, " ")), strings.Fields(text); !slices.Equal(got, want) {
				t.Fatalf("iter %d max %d: pieces do not add up to the text", iter, max)
			}
			var inPieces int
			for _, p := range pieces {
				inPieces += len(atoms.FindAllString(p, -1))
			}
			if want := len(atoms.FindAllString(text, -1)); inPieces != want {
				t.Fatalf("iter %d max %d: %d citations and links in the pieces, want %d", iter, max, inPieces, want)
			}
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	if got := clip("short", 10); got != "short" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("one two three four", 10); got != "one two…" {
		t.Errorf("clip = %q, want %q", got, "one two…")
	}
}
