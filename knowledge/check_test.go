package knowledge

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func testSources() []Result {
	return []Result{
		{ArticleID: 10, Title: "Envoy in Doha", URL: "https://a.example/doha", PublishedAt: time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC),
			Text: "The envoy said the talks were “useful and frank” and would continue."},
		{ArticleID: 11, Title: "Aid halted", URL: "https://b.example/aid", PublishedAt: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC),
			Text: "Israel closed the crossings.   Hamas called it 'collective punishment'."},
		{ArticleID: 12, Title: "Phase one", Text: "The first phase began on 19 January."},
	}
}

func TestCheckAnswer(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		wantText   string
		wantCited  []int64 // article ids in citation order
		refusal    bool
		unverified int
		dropped    int
	}{
		{
			name:      "valid citations renumbered by first use",
			raw:       "Israel closed the crossings [2]. The envoy met Hamas [1][2].",
			wantText:  "Israel closed the crossings [1]. The envoy met Hamas [2][1].",
			wantCited: []int64{11, 10},
		},
		{
			name:      "phantom citation dropped, the rest kept",
			raw:       "The envoy met Hamas [1][7]. Talks continue [9].",
			wantText:  "The envoy met Hamas [1]. Talks continue.",
			wantCited: []int64{10},
			dropped:   2,
		},
		{
			name:      "grouped citations split",
			raw:       "Both happened [1, 3].",
			wantText:  "Both happened [1][2].",
			wantCited: []int64{10, 12},
		},
		{
			name:    "only phantom citations is a refusal",
			raw:     "The war ended [4].",
			refusal: true,
			dropped: 1,
		},
		{
			name:    "no citation at all is a refusal",
			raw:     "The war ended yesterday.",
			refusal: true,
		},
		{
			name:    "no-answer marker",
			raw:     "NO_ANSWER",
			refusal: true,
		},
		{
			name:    "no-answer marker in bold",
			raw:     "**NO_ANSWER**",
			refusal: true,
		},
		{
			name:      "model-written links removed",
			raw:       "See [the report](https://evil.example/x) and https://evil.example/y for more [1]. Also www.evil.example [2].",
			wantText:  "See the report and for more [1]. Also [2].",
			wantCited: []int64{10, 11},
		},
		{
			name:      "verbatim quotes pass whatever the quote style and spacing",
			raw:       `The envoy called the talks "useful and   frank" [1]. Hamas spoke of “collective punishment” [2].`,
			wantText:  `The envoy called the talks "useful and frank" [1]. Hamas spoke of “collective punishment” [2].`,
			wantCited: []int64{10, 11},
		},
		{
			name:       "made-up quote marked",
			raw:        `The envoy said "a deal will be signed tomorrow" [1].`,
			wantText:   `The envoy said "a deal will be signed tomorrow" (unverified quote) [1].`,
			wantCited:  []int64{10},
			unverified: 1,
		},
		{
			name:       "a quote must be in a cited passage, not just any",
			raw:        `Hamas said "Israel closed the crossings" [1].`,
			wantText:   `Hamas said "Israel closed the crossings" (unverified quote) [1].`,
			wantCited:  []int64{10},
			unverified: 1,
		},
		{
			name:      "short scare quotes left alone",
			raw:       `The so-called "deal" stalled [3].`,
			wantText:  `The so-called "deal" stalled [1].`,
			wantCited: []int64{12},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkAnswer(tt.raw, testSources())
			if got.Refusal != tt.refusal {
				t.Fatalf("refusal = %v, want %v (text %q)", got.Refusal, tt.refusal, got.Text)
			}
			if got.Dropped != tt.dropped {
				t.Errorf("dropped = %d, want %d", got.Dropped, tt.dropped)
			}
			if tt.refusal {
				return
			}
			if got.Text != tt.wantText {
				t.Errorf("text:\n got %q\nwant %q", got.Text, tt.wantText)
			}
			var ids []int64
			for i, c := range got.Citations {
				ids = append(ids, c.ArticleID)
				if c.N != i+1 {
					t.Errorf("citation %d numbered %d", i, c.N)
				}
			}
			if !reflect.DeepEqual(ids, tt.wantCited) {
				t.Errorf("cited articles = %v, want %v", ids, tt.wantCited)
			}
			if len(got.Unverified) != tt.unverified {
				t.Errorf("unverified = %q, want %d", got.Unverified, tt.unverified)
			}
			if strings.Contains(got.Text, "http") || strings.Contains(got.Text, "evil") {
				t.Errorf("a model-written link survived: %q", got.Text)
			}
		})
	}
}

func TestCheckAnswerAsOfIsNewestCited(t *testing.T) {
	got := checkAnswer("Aid stopped [2]. Talks went on [1].", testSources())
	if want := time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC); !got.AsOf.Equal(want) {
		t.Errorf("as of = %v, want %v", got.AsOf, want)
	}
}

func TestTrimToTokens(t *testing.T) {
	s := "First sentence here. Second sentence is longer than the first one. Third."
	if got := trimToTokens(s, 100); got != s {
		t.Errorf("under budget changed: %q", got)
	}
	if got := trimToTokens(s, 17); got != "First sentence here. Second sentence is longer than the first one." {
		t.Errorf("trim to a sentence end: %q", got)
	}
	if got := trimToTokens(s, 10); got != "First sentence here. Second sentence is…" {
		t.Errorf("trim to a word end when no sentence end is near: %q", got)
	}
	if got := trimToTokens("éé ééééééééééééééééééééé", 3); !utf8Valid(got) {
		t.Errorf("trim broke UTF-8: %q", got)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }
