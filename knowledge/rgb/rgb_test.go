package rgb

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"parley/knowledge"
)

const devFile = "../../../shared/evaldata/rgb/en_fact.json"

func TestAnswersFlattensEveryShape(t *testing.T) {
	tests := []struct {
		raw  string
		want []string
	}{
		{`"Doha, Qatar"`, []string{"Doha, Qatar"}},
		{`["a", "b"]`, []string{"a", "b"}},
		{`[["19 January 2025", "Jan 19, 2025"], ["January 19 2025"]]`, []string{"19 January 2025", "Jan 19, 2025", "January 19 2025"}},
		{`42`, nil},
	}
	for _, tt := range tests {
		if got := answers(json.RawMessage(tt.raw)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("answers(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// TestRunScoresThreeConditions runs two made-up items through the
// extractive answerer: one whose positive passage names the answer, one
// whose passages never do.
func TestRunScoresThreeConditions(t *testing.T) {
	items := []Item{{
		ID: "a", Query: "Where did the US envoy first meet Hamas?", Answers: []string{"Doha"}, FakeAnswer: "Cairo",
		Positive:      []string{"The US envoy first met Hamas in Doha, in a villa near the Qatari foreign ministry."},
		PositiveWrong: []string{"The US envoy first met Hamas in Cairo, in a villa near the Qatari foreign ministry."},
		Negative:      []string{"Aid trucks waited at the crossing on Monday."},
	}}
	res, err := Run(context.Background(), items, t.TempDir(), func(s *knowledge.Store) *knowledge.Answerer {
		return knowledge.NewAnswerer(s, knowledge.AnswererOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("got %d conditions, want 3", len(res))
	}
	if res[0].Refused != 1 || res[0].Rate != 1 {
		t.Errorf("negative only: %+v, want a refusal", res[0])
	}
	if res[1].Correct != 1 || res[1].Rate != 1 {
		t.Errorf("positive: %+v, want the right answer", res[1])
	}
	if res[2].Fooled != 1 || res[2].Rate != 0 {
		t.Errorf("counterfactual: %+v, want the extractive answer fooled", res[2])
	}
}

func TestLoadDevFile(t *testing.T) {
	if _, err := os.Stat(devFile); err != nil {
		t.Skipf("RGB data not found at %s", devFile)
	}
	items, err := Load(devFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 100 {
		t.Fatalf("items = %d, want 100", len(items))
	}
	for _, it := range items {
		if len(it.Answers) == 0 || len(it.Positive) == 0 || it.Query == "" {
			t.Errorf("item %s incomplete", it.ID)
		}
	}
}
