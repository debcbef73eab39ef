package knowledge

import (
	"strings"
	"testing"
)

func TestLead(t *testing.T) {
	long := strings.Repeat("word ", 50)
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"  Talks resumed\n\nin Doha  ", "Talks resumed in Doha"},
		{long, strings.TrimSpace(strings.Repeat("word ", leadWords))},
		{strings.TrimSpace(strings.Repeat("w ", leadWords)), strings.TrimSpace(strings.Repeat("w ", leadWords))},
		{"one\u00a0two\tthree", "one two three"},
	} {
		if got := Lead(tc.in); got != tc.want {
			t.Errorf("Lead(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := strings.Join(strings.Fields(tc.in)[:min(leadWords, len(strings.Fields(tc.in)))], " "); got != Lead(tc.in) {
			t.Errorf("Lead(%q) differs from the first %d fields: %q", tc.in, leadWords, got)
		}
	}
	if got := indexedTitle("Title", "lead words", 0); got != "Title" {
		t.Errorf("first passage: %q, want the title alone", got)
	}
	if got := indexedTitle("Title", "lead words", 3); got != "Title lead words" {
		t.Errorf("later passage: %q", got)
	}
}
