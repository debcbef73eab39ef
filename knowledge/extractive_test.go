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
