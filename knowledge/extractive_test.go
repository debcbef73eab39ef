package knowledge

import (
	"strings"
	"testing"
)

// TestExtractiveAnswersTheAskingSentence: in a question of several
// sentences, the words of the sentence that asks count most, so the answer
// leads with the sentence that answers rather than the one that repeats the
// question's setting.
func TestExtractiveAnswersTheAskingSentence(t *testing.T) {
	sources := []Result{
		{ArticleID: 1, Title: "Hostage release in Gaza", Text: "Hamas freed three hostages in Gaza on Saturday morning, watched by armed fighters and a crowd. " +
			"Families in Tel Aviv followed the release on television."},
		{ArticleID: 2, Title: "How the handover worked", Text: "Red Cross vehicles drove the three freed captives across to the Israeli army at the border. " +
			"Doctors then examined them at a hospital."},
	}
	cases := map[string]string{
		"Hamas freed three hostages in Gaza on Saturday. Who drove the captives to the Israeli army?": "Red Cross",
		"Hamas freed three hostages in Gaza on Saturday. Who drove the captives to the Israeli army":  "Red Cross",
		"Who drove the captives freed in Gaza to the Israeli army?":                                   "Red Cross",
		"The Red Cross took part. Where were the hostages freed on Saturday?":                         "Hamas freed",
	}
	for q, lead := range cases {
		ans := extractiveAnswer(q, sources)
		if ans.Refusal || !strings.HasPrefix(ans.Text, lead) {
			t.Errorf("%q:\n got %q\nwant an answer that starts %q", q, ans.Text, lead)
		}
	}
}

func TestAskingSentence(t *testing.T) {
	for q, want := range map[string]string{
		"Who is the envoy?":                        "Who is the envoy?",
		"Talks resumed. Who is the envoy? Thanks.": "Who is the envoy?",
		"Talks resumed in Doha. Name the envoy":    "Name the envoy",
		"استؤنفت المحادثات. من هو المبعوث؟":        "من هو المبعوث؟",
		"": "",
	} {
		if got := askingSentence(q); got != want {
			t.Errorf("askingSentence(%q) = %q, want %q", q, got, want)
		}
	}
}

// TestExtractiveHowManyNeedsAQuantity: a "how many" or "how much" question
// is answered only by sentences that give a number or a quantity; sentences
// that merely share its words get an honest refusal instead.
func TestExtractiveHowManyNeedsAQuantity(t *testing.T) {
	vague := []Result{
		{ArticleID: 1, Title: "Hostages in Gaza", Text: "The talks in Doha were mainly about an American-Israeli hostage held in Gaza. " +
			"Israel wants hostages released without moving to the next phase."},
	}
	counted := append([]Result{{ArticleID: 2, Title: "Hostages still held", Text: "Israel says 59 hostages are still held in Gaza, fewer than half of them believed alive."}}, vague...)
	none := []Result{
		{ArticleID: 3, Title: "Aid into Gaza", Text: "After the first phase ended, Israel closed every crossing into Gaza, so no aid could get in."},
	}
	cases := []struct {
		q       string
		sources []Result
		want    string // "" for a refusal
	}{
		{"How many hostages are still held in Gaza?", vague, ""},
		{"How many hostages are still held in Gaza?", counted, "59 hostages"},
		{"How much aid is getting into Gaza?", none, "no aid"},
		// Other questions are not held to it.
		{"Who is held in Gaza?", vague, "American-Israeli hostage"},
	}
	for _, c := range cases {
		ans := extractiveAnswer(c.q, c.sources)
		switch {
		case c.want == "" && !ans.Refusal:
			t.Errorf("%q: got %q, want a refusal", c.q, ans.Text)
		case c.want != "" && (ans.Refusal || !strings.Contains(ans.Text, c.want)):
			t.Errorf("%q: got %q (refusal %v), want an answer with %q", c.q, ans.Text, ans.Refusal, c.want)
		}
	}
}
