package knowledge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/knowledge"
	"parley/knowledge/llm"
	"parley/knowledge/llm/llmtest"
)

func newModel(t *testing.T, timeout time.Duration, replies ...llmtest.Reply) (*llmtest.Server, *llm.Client) {
	f := llmtest.New(t, replies...)
	return f, llm.New(llm.Config{BaseURL: f.URL, APIKey: "sk-test", Model: "fake-model", Timeout: timeout})
}

func newAnswerer(t *testing.T, m knowledge.Model) (*knowledge.Answerer, *knowledge.Store) {
	s := mustOpen(t)
	if _, err := s.SeedStarter(context.Background()); err != nil {
		t.Fatal(err)
	}
	return knowledge.NewAnswerer(s, knowledge.AnswererOptions{
		Model: m, ModelName: "fake-model", Timeout: 5 * time.Second,
		Now: func() time.Time { return date("2025-03-10") },
	}), s
}

func TestModelAnswerIsChecked(t *testing.T) {
	// The model cites a source it was not sent, invents a quotation and
	// writes its own link.
	raw := `The US envoy Adam Boehler met Hamas leaders in Doha [1][9]. He said "we will free every hostage by Friday" [1]. ` +
		`Details at https://phantom.example/story and [here](http://evil.example) [2].`
	f, m := newModel(t, 5*time.Second, llmtest.Reply{Text: raw})
	a, _ := newAnswerer(t, m)
	ans, err := a.Answer(context.Background(), knowledge.Question{Text: "Who met Hamas in Doha?", Asker: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Refusal || ans.Extractive {
		t.Fatalf("got refusal=%v extractive=%v, want a model answer", ans.Refusal, ans.Extractive)
	}
	if strings.Contains(ans.Text, "[9]") || strings.Contains(ans.Text, "phantom") || strings.Contains(ans.Text, "evil.example") {
		t.Errorf("phantom citation or model link kept: %q", ans.Text)
	}
	if len(ans.Unverified) != 1 || !strings.Contains(ans.Text, "(unverified quote)") {
		t.Errorf("made-up quotation not marked: %q (unverified %q)", ans.Text, ans.Unverified)
	}
	if ans.Dropped != 1 {
		t.Errorf("dropped = %d, want 1", ans.Dropped)
	}
	for _, c := range ans.Citations {
		if c.Title == "" || c.ArticleID == 0 {
			t.Errorf("citation without its article: %+v", c)
		}
	}
	if ans.AsOf.IsZero() || ans.Model != "fake-model" || ans.ID == 0 {
		t.Errorf("as of %v, model %q, id %d: want all set", ans.AsOf, ans.Model, ans.ID)
	}
	// The prompt carried the sources in delimited blocks, without URLs.
	if p := f.Prompts(); len(p) != 1 || !strings.Contains(p[0], `<source n="1"`) || !strings.Contains(p[0], "Doha") {
		t.Errorf("prompt did not carry numbered sources: %q", p)
	}
}

func TestModelSaysNoAnswer(t *testing.T) {
	_, m := newModel(t, 5*time.Second, llmtest.Reply{Text: "NO_ANSWER"})
	a, s := newAnswerer(t, m)
	ans, err := a.Answer(context.Background(), knowledge.Question{Text: "What did the envoy eat in Doha?", Asker: "discord:42"})
	if err != nil {
		t.Fatal(err)
	}
	if !ans.Refusal || !strings.Contains(ans.Text, "don't cover") || len(ans.Closest) == 0 {
		t.Errorf("got %+v, want a refusal naming the closest sources", ans)
	}
	gaps, err := s.Gaps(context.Background(), 10)
	if err != nil || len(gaps) != 1 || gaps[0].Question != "What did the envoy eat in Doha?" || gaps[0].Asker != "discord:42" {
		t.Errorf("gaps = %+v, %v; want the refused question recorded", gaps, err)
	}
}

func TestModelRetriesOnceAfter429(t *testing.T) {
	f, m := newModel(t, 10*time.Second, llmtest.Reply{Status: 429}, llmtest.Reply{Text: "Hamas met the US envoy [1]."})
	a, _ := newAnswerer(t, m)
	ans, err := a.Answer(context.Background(), knowledge.Question{Text: "Who met Hamas?"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Calls(); got != 2 {
		t.Errorf("requests = %d, want 2 (one retry)", got)
	}
	if ans.Refusal {
		t.Errorf("answer after retry is a refusal: %q", ans.Text)
	}
}

func TestModelStallEndsWithinDeadline(t *testing.T) {
	_, m := newModel(t, 400*time.Millisecond, llmtest.Reply{Stall: true})
	a, _ := newAnswerer(t, m)
	start := time.Now()
	_, err := a.Answer(context.Background(), knowledge.Question{Text: "Who met Hamas?"})
	if err == nil {
		t.Fatal("a stalled model gave no error")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, llm.ErrStalled) {
		t.Errorf("error %v does not say the deadline passed", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v, want about the 400ms deadline", d)
	}
}

func TestModelFailureFallsBackWhenAsked(t *testing.T) {
	_, m := newModel(t, 5*time.Second, llmtest.Reply{Status: 401})
	s := mustOpen(t)
	s.SeedStarter(context.Background())
	a := knowledge.NewAnswerer(s, knowledge.AnswererOptions{Model: m, FallbackToExtractive: true})
	ans, err := a.Answer(context.Background(), knowledge.Question{Text: "When did the first phase begin?"})
	if err != nil {
		t.Fatal(err)
	}
	if !ans.Extractive || ans.Refusal || !strings.Contains(ans.Text, "19 January 2025") {
		t.Errorf("fallback answer = %+v", ans)
	}
}

func TestModelStreams(t *testing.T) {
	text := "The first phase began on 19 January 2025 [1]. Israel then closed the crossings [1]."
	_, m := newModel(t, 5*time.Second, llmtest.Reply{Text: text, Chunks: 6})
	a, _ := newAnswerer(t, m)
	var deltas []string
	ans, err := a.Answer(context.Background(), knowledge.Question{
		Text: "When did the first phase begin?", OnDelta: func(s string) { deltas = append(deltas, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(deltas) < 3 || deltas[len(deltas)-1] != text {
		t.Errorf("deltas = %q, want growing text ending in the whole answer", deltas)
	}
	for i := 1; i < len(deltas); i++ {
		if !strings.HasPrefix(deltas[i], deltas[i-1]) {
			t.Errorf("delta %d does not extend the one before", i)
		}
	}
	if ans.Text != text {
		t.Errorf("final text %q", ans.Text)
	}
}

// TestExtractiveAnswersTheTalks asks the questions members ask about the
// talks against the starter briefs, with no model.
func TestExtractiveAnswersTheTalks(t *testing.T) {
	a, _ := newAnswerer(t, nil)
	tests := []struct {
		q    string
		want []string // each must appear in the answer
	}{
		{"Who is talking to Hamas, and where?", []string{"United States", "Doha"}},
		{"Who is the US envoy negotiating with Hamas?", []string{"Adam Boehler"}},
		{"What are the talks about?", []string{"Edan Alexander"}},
		{"When did the first phase of the ceasefire begin?", []string{"19 January 2025"}},
		{"What does Hamas want next?", []string{"second phase"}},
		{"What does Netanyahu want?", []string{"extend"}},
		{"What did Israel do after the first phase ended?", []string{"crossing"}},
	}
	for _, tt := range tests {
		ans, err := a.Answer(context.Background(), knowledge.Question{Text: tt.q})
		if err != nil {
			t.Fatalf("%q: %v", tt.q, err)
		}
		if ans.Refusal || !ans.Extractive {
			t.Errorf("%q: refusal=%v extractive=%v: %q", tt.q, ans.Refusal, ans.Extractive, ans.Text)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(ans.Text, w) {
				t.Errorf("%q: answer lacks %q: %q", tt.q, w, ans.Text)
			}
		}
		if n := len(strings.Fields(ans.Text)); n > 140 {
			t.Errorf("%q: %d words, want a short answer", tt.q, n)
		}
		if len(ans.Citations) == 0 || !strings.Contains(ans.Text, "[1]") {
			t.Errorf("%q: no citation: %q", tt.q, ans.Text)
		}
	}
}

func TestExtractiveRefusesOffTopic(t *testing.T) {
	a, s := newAnswerer(t, nil)
	for _, q := range []string{"What is the weather in Paris tomorrow?", "Who won the 2024 Champions League final?", "How do I bake sourdough bread?"} {
		ans, err := a.Answer(context.Background(), knowledge.Question{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		if !ans.Refusal {
			t.Errorf("%q: got an answer %q, want a refusal", q, ans.Text)
		}
		if len(ans.Closest) == 0 || ans.Closest[0].Title == "" {
			t.Errorf("%q: refusal names no sources: %+v", q, ans.Closest)
		}
	}
	// A question near the topic but not covered names the closest sources.
	ans, _ := a.Answer(context.Background(), knowledge.Question{Text: "How many trucks of aid entered Gaza through Rafah in February?"})
	if !ans.Refusal || len(ans.Closest) == 0 {
		t.Errorf("near-topic gap: got %+v, want a refusal with closest sources", ans)
	}
	if gaps, _ := s.Gaps(context.Background(), 10); len(gaps) != 4 {
		t.Errorf("gaps recorded = %d, want 4", len(gaps))
	}
}

func TestAnswerRejectsBadQuestions(t *testing.T) {
	a, _ := newAnswerer(t, nil)
	for _, q := range []string{"", "   ", strings.Repeat("why ", 300)} {
		if _, err := a.Answer(context.Background(), knowledge.Question{Text: q}); !errors.Is(err, knowledge.ErrInvalid) {
			t.Errorf("question of %d chars: got %v, want ErrInvalid", len(q), err)
		}
	}
}

func TestFollowUpUsesHistory(t *testing.T) {
	a, _ := newAnswerer(t, nil)
	ans, err := a.Answer(context.Background(), knowledge.Question{
		Text:    "And what does Israel want?",
		History: []knowledge.Turn{{Question: "What does Hamas want next in the ceasefire talks?", Answer: "The second phase [1]."}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Refusal || !strings.Contains(ans.Text, "Netanyahu") {
		t.Errorf("follow-up answer = %q", ans.Text)
	}
}

func TestFeedbackAndGaps(t *testing.T) {
	ctx := context.Background()
	a, s := newAnswerer(t, nil)
	ans, _ := a.Answer(ctx, knowledge.Question{Text: "When did the first phase begin?"})
	if err := s.RecordFeedback(ctx, ans.ID, "u1", knowledge.VoteDown); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordFeedback(ctx, ans.ID, "u2", knowledge.VoteDown); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordFeedback(ctx, ans.ID, "u1", knowledge.VoteUp); err != nil { // changes u1's vote
		t.Fatal(err)
	}
	gaps, _ := s.Gaps(ctx, 10)
	if len(gaps) != 0 {
		t.Errorf("1 up, 1 down: gaps = %+v, want none", gaps)
	}
	s.RecordFeedback(ctx, ans.ID, "u3", knowledge.VoteDown)
	gaps, _ = s.Gaps(ctx, 10)
	if len(gaps) != 1 || gaps[0].Down != 2 || gaps[0].Up != 1 || gaps[0].Refused {
		t.Errorf("gaps = %+v, want one rated-down answer", gaps)
	}
	if err := s.RecordFeedback(ctx, 9999, "u1", knowledge.VoteUp); !errors.Is(err, knowledge.ErrNotFound) {
		t.Errorf("feedback on unknown answer: %v", err)
	}
	if err := s.RecordFeedback(ctx, ans.ID, "u1", 3); !errors.Is(err, knowledge.ErrInvalid) {
		t.Errorf("bad vote: %v", err)
	}
}

func TestAnswerSkipsWireCopies(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	wire := "Mediators from Egypt and Qatar presented a new proposal to extend the truce by fifty days, two officials briefed on the talks said on Sunday. " +
		"The proposal would see half of the remaining hostages released in exchange for Palestinian prisoners, the officials said."
	for i, outlet := range []string{"Outlet A", "Outlet B", "Outlet C"} {
		mustAdd(t, s, knowledge.NewArticle{
			Title: "Mediators propose truce extension", Outlet: outlet, PublishedAt: date("2025-03-09"),
			Text: fmt.Sprintf("(%s) %s", strings.Repeat("Update ", i+1), wire),
		})
	}
	mustAdd(t, s, knowledge.NewArticle{Title: "Israel weighs truce proposal", Outlet: "Outlet D", PublishedAt: date("2025-03-10"),
		Text: "Israeli officials said they were studying the mediators' proposal to extend the truce and would answer within days."})
	f, m := newModel(t, 5*time.Second, llmtest.Reply{Text: "Mediators proposed a fifty-day extension [1]."})
	a := knowledge.NewAnswerer(s, knowledge.AnswererOptions{Model: m})
	if _, err := a.Answer(ctx, knowledge.Question{Text: "What did the mediators propose about extending the truce?"}); err != nil {
		t.Fatal(err)
	}
	prompt := f.Prompts()[0]
	if n := strings.Count(prompt, "remaining hostages released"); n != 1 {
		t.Errorf("the same wire story went to the model %d times, want once:\n%s", n, prompt)
	}
	if !strings.Contains(prompt, "studying the mediators' proposal") {
		t.Errorf("the distinct source was crowded out:\n%s", prompt)
	}
}

func TestObserveReportsEachAnswer(t *testing.T) {
	_, m := newModel(t, 5*time.Second, llmtest.Reply{Status: 401}, llmtest.Reply{Text: "Hamas met the envoy [1]."})
	s := mustOpen(t)
	s.SeedStarter(context.Background())
	var events []knowledge.AnswerEvent
	a := knowledge.NewAnswerer(s, knowledge.AnswererOptions{Model: m, FallbackToExtractive: true,
		Observe: func(e knowledge.AnswerEvent) { events = append(events, e) }})
	a.Answer(context.Background(), knowledge.Question{Text: "When did the first phase begin?"})
	a.Answer(context.Background(), knowledge.Question{Text: "Who met Hamas?"})
	a.Answer(context.Background(), knowledge.Question{Text: ""})
	if len(events) != 3 {
		t.Fatalf("events = %d, want 3", len(events))
	}
	if !events[0].Fallback || !events[0].Extractive || events[0].Err != nil {
		t.Errorf("model failure with fallback: %+v", events[0])
	}
	if events[1].Extractive || events[1].PromptTokens != 100 || events[1].CompletionTokens != 20 {
		t.Errorf("model answer: %+v", events[1])
	}
	if events[2].Err == nil {
		t.Errorf("empty question: %+v, want an error", events[2])
	}
}
