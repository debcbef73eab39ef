package bot

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"parley/knowledge"
)

func TestSafeText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"see https://x.com/a.", "see <https://x.com/a>."},
		{"already <https://x.com/a> wrapped", "already <https://x.com/a> wrapped"},
		{"[click here](https://evil.example/x)", "click here (<https://evil.example/x>)"},
		{"cited [1] and [2, 3].", "cited [1] and [2, 3]."},
	} {
		if got := safeText(tc.in); got != tc.want {
			t.Errorf("safeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSourceLineEscapesStoreText(t *testing.T) {
	t.Parallel()
	c := knowledge.Citation{N: 2, Title: "[Breaking](https://evil.example) **talks** <@123>", Outlet: "Desk_One",
		URL: "https://example.com/a", PublishedAt: day(2025, 1, 2)}
	got := sourceLine(c)
	want := `\[Breaking\]\(https://evil.example\) \*\*talks\*\* \<@123\> — Desk\_One · 2 Jan 2025 · <https://example.com/a>`
	if got != want {
		t.Errorf("sourceLine = %q\nwant %q", got, want)
	}
	c.URL = "javascript:alert(1)"
	if got := sourceLine(c); strings.Contains(got, "javascript") {
		t.Errorf("sourceLine shows a non-http link: %q", got)
	}
}

// TestRenderFitsDiscordLimits renders answers with many long sources and
// checks every message fits and every link survives whole.
func TestRenderFitsDiscordLimits(t *testing.T) {
	t.Parallel()
	var cites []knowledge.Citation
	for k := 1; k <= 25; k++ {
		cites = append(cites, knowledge.Citation{
			N: k, Title: strings.Repeat("Very long headline about the negotiations ", 12), Outlet: strings.Repeat("Outlet ", 20),
			URL: "https://example.com/" + strings.Repeat("segment/", 45) + fmt.Sprint(k), PublishedAt: day(2025, 3, k),
		})
	}
	a := knowledge.Answer{ID: 1, Text: strings.Repeat("The parties met again [1] and again [2, 3]. ", 80),
		Citations: cites, AsOf: day(2025, 3, 25), Extractive: true}
	text := renderAnswer(a)
	pieces := splitMessage(text, maxMessage)
	if len(pieces) < 3 {
		t.Errorf("%d pieces", len(pieces))
	}
	links := 0
	for _, p := range pieces {
		if textLen(p) > maxMessage {
			t.Errorf("piece of %d characters", textLen(p))
		}
		links += strings.Count(p, "<https://example.com/")
	}
	if links != 25 {
		t.Errorf("%d whole links across the pieces, want 25", links)
	}
	if !strings.HasSuffix(pieces[len(pieces)-1], "-# As of 25 March 2025 · "+markExtractive) {
		t.Errorf("last piece ends %q", pieces[len(pieces)-1][max(0, len(pieces[len(pieces)-1])-80):])
	}
}

func TestPreviewFitsOneMessage(t *testing.T) {
	t.Parallel()
	p := renderPreview(strings.Repeat("word ", 1000))
	if textLen(p) > maxMessage || !strings.HasSuffix(p, markWriting) {
		t.Errorf("preview of %d characters ending %q", textLen(p), p[len(p)-40:])
	}
}

func TestFeedbackIDs(t *testing.T) {
	t.Parallel()
	comps := feedbackButtons(42)
	ids := buttonIDs(comps)
	if len(ids) != 2 {
		t.Fatalf("buttons %v", ids)
	}
	for k, want := range []knowledge.Vote{knowledge.VoteUp, knowledge.VoteDown} {
		id, v, ok := parseFeedback(ids[k])
		if !ok || id != 42 || v != want {
			t.Errorf("parseFeedback(%q) = %d, %d, %v", ids[k], id, v, ok)
		}
	}
	for _, bad := range []string{"", "fb:", "fb:up:", "fb:up:x", "fb:sideways:1", "fb:up:-3", "other:up:1"} {
		if _, _, ok := parseFeedback(bad); ok {
			t.Errorf("parseFeedback(%q) accepted", bad)
		}
	}
	if feedbackButtons(0) != nil {
		t.Errorf("buttons for an unrecorded answer")
	}
}

func TestSafeErrHidesTokens(t *testing.T) {
	t.Parallel()
	ue := &url.Error{Op: "Patch", URL: "https://discord.com/api/v9/webhooks/123/itoken-secret/messages/@original", Err: errors.New("timeout")}
	for _, err := range []error{
		ue,
		fmt.Errorf("wrapped: %w", ue),
		errors.New("POST https://discord.com/api/v9/interactions/1/itoken-secret/callback failed"),
		&discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{}, URL: "https://discord.com/api/v9/webhooks/1/itoken-secret"}},
	} {
		if s := safeErr(err); strings.Contains(s, "itoken-secret") {
			t.Errorf("safeErr = %q", s)
		}
	}
}
