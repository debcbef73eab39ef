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
// is answered only by sentences that give a number or a quantity (a date is
// neither); sentences that merely share its words get an honest refusal
// instead, and are left out of an answer that has one.
func TestExtractiveHowManyNeedsAQuantity(t *testing.T) {
	vague := []Result{
		{ArticleID: 1, Title: "Hostages in Gaza", Text: "The talks in Doha were mainly about an American-Israeli hostage held in Gaza. " +
			"Israel wants hostages released without moving to the next phase."},
	}
	counted := append([]Result{{ArticleID: 2, Title: "Hostages still held", Text: "Israel says 59 hostages are still held in Gaza, fewer than half of them believed alive."}}, vague...)
	none := []Result{
		{ArticleID: 3, Title: "Aid into Gaza", Text: "After the first phase ended, Israel closed every crossing into Gaza, so no aid could get in."},
	}
	dated := []Result{
		{ArticleID: 4, Title: "Hostages in Gaza", Text: "On 19 January 2025 the hostages held in Gaza saw the first phase begin."},
	}
	phases := []Result{
		{ArticleID: 5, Title: "What Israel wants", Text: "Israel wants as many hostages freed as possible in the first phase."},
		{ArticleID: 6, Title: "Where the ceasefire stands", Text: "The agreement has three phases, and the first phase has ended."},
	}
	cases := []struct {
		q       string
		sources []Result
		want    string // "" for a refusal
	}{
		{"How many hostages are still held in Gaza?", vague, ""},
		{"How many hostages are still held in Gaza?", counted, "59 hostages"},
		{"How much aid is getting into Gaza?", none, "no aid"},
		// A date's digits count nothing.
		{"How many hostages are held in Gaza?", dated, ""},
		// Once a sentence gives a quantity, the ones that do not are left out.
		{"How many phases are there?", phases, "three phases"},
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
		case strings.Contains(ans.Text, "as many"):
			t.Errorf("%q: got %q, want no sentence without a quantity", c.q, ans.Text)
		}
	}
}

// TestExtractiveWhenQuotesTimes: a "when" question is answered with the
// sentences that give a time (and a "where" question with the ones that
// name a place), not with one that only shares its words,
// however well that one covers them; with no time among the sources it
// still gets the best sentences there are.
func TestExtractiveWhenQuotesTimes(t *testing.T) {
	timed := []Result{
		{ArticleID: 1, Title: "What each side wants next", Text: "Hamas wants negotiations on the second phase of the ceasefire to start now."},
		{ArticleID: 2, Title: "Where the Gaza ceasefire stands", Text: "The ceasefire started on 19 January, and its first phase has now ended."},
	}
	untimed := timed[:1]
	cases := []struct {
		q       string
		sources []Result
		want    string
		notWant string
	}{
		{"When did the ceasefire start?", timed, "19 January", "to start now"},
		{"When did the ceasefire start?", untimed, "to start now", ""},
		// Other questions are not held to it.
		{"Why did the ceasefire start?", timed, "to start now", ""},
		// A "where" question, to a sentence that names a place.
		{"Where did the ceasefire talks take place?", []Result{
			{ArticleID: 3, Title: "Ceasefire talks", Text: "The ceasefire talks took place over three days and ended without a deal."},
			{ArticleID: 4, Title: "Where the ceasefire talks were held", Text: "The ceasefire talks took place in Doha, with Egyptian mediators."},
		}, "in Doha", "three days"},
	}
	for _, c := range cases {
		ans := extractiveAnswer(c.q, c.sources)
		if ans.Refusal || !strings.Contains(ans.Text, c.want) || (c.notWant != "" && strings.Contains(ans.Text, c.notWant)) {
			t.Errorf("%q: got %q (refusal %v), want an answer with %q and without %q", c.q, ans.Text, ans.Refusal, c.want, c.notWant)
		}
	}
}

// TestExtractiveQuotesStatements: a question in the sources ("Will Hamas
// demand more?", a heading) or the lead-in to a list answers nothing, and is
// passed over for the sentences that state something; with nothing else to
// quote, it is still quoted rather than an empty answer given.
func TestExtractiveQuotesStatements(t *testing.T) {
	sources := []Result{
		{ArticleID: 1, Title: "What Hamas could demand", Text: "Will Hamas demand more from Washington?\n\n" +
			"The demands Hamas could raise with Washington include:\n\n" +
			"Hamas could demand to be taken off the US list of terrorist organisations."},
	}
	ans := extractiveAnswer("What is Hamas demanding from Washington?", sources)
	if ans.Refusal || !strings.Contains(ans.Text, "terrorist organisations") ||
		strings.Contains(ans.Text, "Will Hamas demand") || strings.Contains(ans.Text, "include:") {
		t.Errorf("got %q (refusal %v), want the statement alone", ans.Text, ans.Refusal)
	}
	only := []Result{{ArticleID: 2, Title: "Open questions", Text: "Will Hamas demand more from Washington now?"}}
	if ans := extractiveAnswer("What is Hamas demanding from Washington?", only); ans.Refusal || ans.Text == "" {
		t.Errorf("with only a question to quote: got %q (refusal %v), want it quoted", ans.Text, ans.Refusal)
	}
}

// TestExtractiveMatchesNumberForms: "phase two", "the second phase" and
// "phase 2" are the same phase to a reader, and to the sentence picker.
func TestExtractiveMatchesNumberForms(t *testing.T) {
	sources := []Result{
		{ArticleID: 1, Title: "Envoys meet in Doha", Text: "The two delegations met for three hours in Doha on Monday. " +
			"Both sides described the meeting as constructive."},
		{ArticleID: 2, Title: "Where the ceasefire stands", Text: "The second phase would see a permanent end to the fighting and a full withdrawal. " +
			"Talks on it were due to start in February."},
	}
	for q, want := range map[string]string{
		"What is phase two?":               "The second phase",
		"What happens in phase 2?":         "The second phase",
		"What does the 2nd phase bring?":   "The second phase",
		"How long did the delegates meet?": "The two delegations met for three hours",
	} {
		ans := extractiveAnswer(q, sources)
		if ans.Refusal || !strings.HasPrefix(ans.Text, want) {
			t.Errorf("%q:\n got %q\nwant an answer that starts %q", q, ans.Text, want)
		}
	}
}

// TestExtractiveMatchesRelatedForms: the stemmer keeps "threaten" and
// "threats" apart; the picker counts one as a related form of the other,
// so the question is answered rather than refused.
func TestExtractiveMatchesRelatedForms(t *testing.T) {
	sources := []Result{
		{ArticleID: 1, Title: "An analyst on the talks", Text: "Trump's threats against Hamas are a way of pressing it for concessions, the analyst said. " +
			"Trump met his advisers on Tuesday. Trump spoke to reporters at the White House."},
	}
	ans := extractiveAnswer("What did Trump threaten?", sources)
	if ans.Refusal || !strings.HasPrefix(ans.Text, "Trump's threats") {
		t.Errorf("got %q (refusal %v), want the sentence on Trump's threats first", ans.Text, ans.Refusal)
	}
	// A shared beginning shorter than minRelatedPrefix is not kinship:
	// "party" is not a form of "part".
	if got := relatedForms([]string{"part"}, []candidate{{stems: stemSet([]string{"party"})}}); len(got) != 0 {
		t.Errorf("relatedForms(part, party) = %v, want none", got)
	}
}
