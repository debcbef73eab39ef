package main

import (
	"encoding/json"
	"strings"
	"testing"

	"parley/knowledge/llm/llmtest"
)

func TestAskOfflineFromStarterBriefs(t *testing.T) {
	c := newCLI(t)
	delete(c.env, "PARLEY_STARTER")
	tests := []struct{ q, want string }{
		{"Who is talking to Hamas, and where?", "Doha"},
		{"When did the first phase of the ceasefire begin?", "19 January 2025"},
		{"What does Hamas want next?", "second phase"},
	}
	for _, tt := range tests {
		r := c.run("", "ask", tt.q)
		if r.code != 0 {
			t.Fatalf("ask %q: exit %d, %s", tt.q, r.code, r.stderr)
		}
		for _, want := range []string{tt.want, "[1]", "Sources:", "Parley brief, from Watan reporting", "as of 6 March 2025", "extractive answer"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("ask %q: output lacks %q:\n%s", tt.q, want, r.stdout)
			}
		}
	}
	r := c.run("", "ask", "Who won the 2024 Champions League final?")
	if r.code != 0 || !strings.Contains(r.stdout, "My sources don't cover that.") || !strings.Contains(r.stdout, "closest sources") {
		t.Errorf("off-topic: exit %d, out %q; want a refusal naming sources", r.code, r.stdout)
	}
	r = c.run("", "ask", "How many aid trucks entered Gaza through Rafah?")
	if !strings.Contains(r.stdout, "don't cover") || !strings.Contains(r.stdout, "closest sources") {
		t.Errorf("near-topic gap: %q", r.stdout)
	}
	r = c.run("", "gaps")
	if r.code != 0 || !strings.Contains(r.stdout, "Champions League") || !strings.Contains(r.stdout, "refused") {
		t.Errorf("gaps: exit %d, out %q", r.code, r.stdout)
	}
}

func TestAskJSON(t *testing.T) {
	c := newCLI(t)
	delete(c.env, "PARLEY_STARTER")
	r := c.run("", "ask", "--json", "When did the first phase begin?")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got answerJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if got.Refusal || !got.Extractive || len(got.Citations) == 0 || got.AsOf != "2025-03-06" || got.Citations[0].Title == "" {
		t.Errorf("answer = %+v", got)
	}
}

func TestAskWithModel(t *testing.T) {
	srv := llmtest.New(t, llmtest.Reply{Text: `Adam Boehler met Hamas in Doha [1][8]. He promised "a full peace treaty by Sunday" [1]. Read more: https://made-up.example/news`})
	c := newCLI(t)
	delete(c.env, "PARLEY_STARTER")
	c.env["OPENAI_BASE_URL"] = srv.URL
	c.env["OPENAI_API_KEY"] = "sk-test-secret"
	r := c.run("", "ask", "Who met Hamas in Doha?")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "[8]") || strings.Contains(r.stdout, "made-up.example") {
		t.Errorf("phantom citation or model URL printed:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "(unverified quote)") {
		t.Errorf("made-up quotation not marked:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "extractive") {
		t.Errorf("a model answer labelled extractive:\n%s", r.stdout)
	}
}

func TestAskModelStallIsAClearError(t *testing.T) {
	srv := llmtest.New(t, llmtest.Reply{Stall: true})
	c := newCLI(t)
	delete(c.env, "PARLEY_STARTER")
	c.env["OPENAI_BASE_URL"] = srv.URL
	c.env["OPENAI_API_KEY"] = "sk-test-secret"
	c.env["PARLEY_ANSWER_TIMEOUT"] = "500ms"
	r := c.run("", "ask", "Who met Hamas in Doha?")
	if r.code != 1 || !strings.Contains(r.stderr, "did not answer in time") {
		t.Fatalf("exit %d, stderr %q: want a clear error", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "sk-test-secret") {
		t.Errorf("the API key leaked: %s", r.stderr)
	}
}

func TestAskConfigErrors(t *testing.T) {
	c := newCLI(t)
	for k, v := range map[string]string{"PARLEY_ANSWER_TIMEOUT": "soon", "OPENAI_BASE_URL": "localhost:11434"} {
		c.env[k] = v
		r := c.run("", "ask", "anything")
		if r.code != 1 || !strings.Contains(r.stderr, k) {
			t.Errorf("%s=%s: exit %d, stderr %q; want the variable named", k, v, r.code, r.stderr)
		}
		delete(c.env, k)
	}
	if r := c.run("", "ask"); r.code != 2 {
		t.Errorf("ask without a question: exit %d, want 2", r.code)
	}
}
