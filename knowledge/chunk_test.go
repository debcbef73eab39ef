package knowledge_test

import (
	"strings"
	"testing"

	"parley/knowledge"
)

func TestChunkKeepsParagraphs(t *testing.T) {
	para := func(n int, w string) string { return strings.TrimSpace(strings.Repeat(w+" ", n)) }
	text := para(100, "alpha") + "\n\n" + para(100, "beta") + "\n\n" + para(100, "gamma") + "\n\n" + para(10, "tail")
	got := knowledge.Chunk(text, 220)
	if len(got) != 2 {
		t.Fatalf("got %d passages, want 2: %q", len(got), got)
	}
	if !strings.HasPrefix(got[0], "alpha") || !strings.Contains(got[0], "\n\nbeta") {
		t.Errorf("first passage should hold alpha and beta paragraphs: %.80q", got[0])
	}
	if !strings.HasPrefix(got[1], "gamma") || !strings.HasSuffix(got[1], "tail") {
		t.Errorf("short tail should join the last passage: %.80q", got[1])
	}
}

func TestChunkSplitsLongParagraphAtSentences(t *testing.T) {
	var sentences []string
	for range 60 {
		sentences = append(sentences, "The mediators in Doha said the talks would continue next week.")
	}
	got := knowledge.Chunk(strings.Join(sentences, " "), 100)
	if len(got) < 5 {
		t.Fatalf("got %d passages, want the 660-word paragraph cut into several", len(got))
	}
	for _, p := range got {
		if !strings.HasSuffix(p, "week.") {
			t.Errorf("passage does not end at a sentence: %q", p[max(0, len(p)-30):])
		}
		if n := len(strings.Fields(p)); n > 150 {
			t.Errorf("passage of %d words, want about 100", n)
		}
	}
}

func TestChunkPlainLinesAndEdgeCases(t *testing.T) {
	if got := knowledge.Chunk("", 200); len(got) != 0 {
		t.Errorf("empty text gave %q", got)
	}
	if got := knowledge.Chunk("one line\ntwo line\r\nthree", 200); len(got) != 1 || got[0] != "one line\n\ntwo line\n\nthree" {
		t.Errorf("lines: got %q", got)
	}
	word := strings.Repeat("x", 100)
	if got := knowledge.Chunk(strings.Repeat(word+" ", 1000), 200); len(got) < 4 {
		t.Errorf("a text with no sentence ends was not cut: %d passages", len(got))
	}
	if got := knowledge.Chunk("bad \xff utf8", 200); len(got) != 1 || !strings.Contains(got[0], "\uFFFD") {
		t.Errorf("invalid UTF-8: got %q", got)
	}
}

func TestSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"The U.S. envoy met Hamas. Israel objected.", []string{"The U.S. envoy met Hamas.", "Israel objected."}},
		{`He said "talks continue." Then he left.`, []string{`He said "talks continue."`, "Then he left."}},
		{"Mr. Witkoff arrived on Jan. 5 in Doha. Talks began.", []string{"Mr. Witkoff arrived on Jan. 5 in Doha.", "Talks began."}},
		{"Is it over? No. 3 rounds remain!", []string{"Is it over?", "No. 3 rounds remain!"}},
		{"لم تنته المحادثات. ستستمر غدا.", []string{"لم تنته المحادثات.", "ستستمر غدا."}},
		{"version 2.5 is out", []string{"version 2.5 is out"}},
	}
	for _, tt := range tests {
		got := knowledge.Sentences(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Sentences(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
