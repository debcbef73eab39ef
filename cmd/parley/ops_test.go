package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/knowledge"
	"parley/knowledge/llm/llmtest"
)

// TestOpsListener runs `parley bot` with PARLEY_HTTP_ADDR on a free
// loopback port and a model that fails once: after two answers (the first
// made extractively after the model's failure, with a Discord 500 on the
// way; the second by the model), /healthz says ok and /metrics counts what
// happened. When the bot stops, so does the listener.
func TestOpsListener(t *testing.T) {
	t.Parallel()
	model := llmtest.New(t, llmtest.Reply{Status: http.StatusBadRequest},
		llmtest.Reply{Text: "Adam Boehler met Hamas officials in Doha [1].", Chunks: 3})
	br := startBotCmd(t, map[string]string{
		envHTTPAddr: "127.0.0.1:0", envLogFormat: "json",
		"OPENAI_BASE_URL": model.URL, "OPENAI_API_KEY": testAPIKey,
	})
	base := "http://" + br.listenerAddr(t)

	br.fake.FailNext(http.MethodPatch, "/webhooks/", http.StatusInternalServerError, 1)
	br.waitAnswered(t, br.ask(t, "Who is talking to Hamas, and where?", "700000000000000001"))
	br.waitAnswered(t, br.ask(t, "Who met Hamas in Doha?", "700000000000000002"))

	if status, body := get(t, base+"/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 \"ok\\n\"", status, body)
	}
	status, body := get(t, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics = %d", status)
	}
	for _, want := range []string{
		`parley_questions_total{mode="extractive",outcome="answered"} 1`,
		`parley_questions_total{mode="model",outcome="answered"} 1`,
		`parley_questions_total{mode="model",outcome="error"} 0`,
		`parley_answer_duration_seconds_count{mode="extractive"} 1`,
		`parley_answer_duration_seconds_count{mode="model"} 1`,
		`parley_model_fallbacks_total 1`,
		`parley_interactions_total{command="ask"} 2`,
		`parley_interactions_total{command="source"} 0`,
		`parley_discord_errors_total{op="edit_response",status_class="5xx"} 1`,
		`parley_discord_gateway_connected 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, testAPIKey) || strings.Contains(body, testDiscordToken) {
		t.Errorf("/metrics shows a secret")
	}

	br.stop(t)
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("the listener still answers after the bot stopped")
	}
}

// listenerAddr returns the address the operations listener logged (JSON
// logs), waiting for it.
func (br *botCmd) listenerAddr(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(br.stderr.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "operations listener started" {
				return rec.Addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no listener address logged:\n%s", br.stderr.String())
	return ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	store, err := knowledge.Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	closed, err := knowledge.Open(context.Background(), filepath.Join(t.TempDir(), "closed.db"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	t.Cleanup(func() { store.Close() })
	up := func() bool { return true }
	down := func() bool { return false }
	for _, tc := range []struct {
		name     string
		checks   []healthCheck
		status   int
		wantBody string
	}{
		{"all well", []healthCheck{storeCheck(store), gatewayCheck(up)}, http.StatusOK, "ok\n"},
		{"gateway down", []healthCheck{storeCheck(store), gatewayCheck(down)}, http.StatusServiceUnavailable, "discord: gateway not connected\n"},
		{"store closed", []healthCheck{storeCheck(closed), gatewayCheck(up)}, http.StatusServiceUnavailable, "store: "},
		{"slow check", []healthCheck{{name: "slow", check: func(ctx context.Context) error {
			<-ctx.Done() // healthTimeout
			return ctx.Err()
		}}}, http.StatusServiceUnavailable, "slow: context deadline exceeded\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(newOpsHandler(newMetrics(), slog.New(slog.DiscardHandler), tc.checks...))
			defer srv.Close()
			status, body := get(t, srv.URL+"/healthz")
			if status != tc.status || !strings.HasPrefix(body, tc.wantBody) {
				t.Errorf("/healthz = %d %q, want %d %q", status, body, tc.status, tc.wantBody)
			}
			if resp, err := http.Post(srv.URL+"/healthz", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("POST /healthz = %v %v, want 405", resp, err)
			} else {
				resp.Body.Close()
			}
		})
	}
}

func TestObserveAnswer(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	events := []struct {
		ev        knowledge.AnswerEvent
		withModel bool
	}{
		{knowledge.AnswerEvent{Duration: 20 * time.Millisecond, Extractive: true}, false},
		{knowledge.AnswerEvent{Duration: 30 * time.Millisecond, Extractive: true, Refusal: true}, false},
		{knowledge.AnswerEvent{Duration: 3 * time.Second, PromptTokens: 900, CompletionTokens: 120}, true},
		{knowledge.AnswerEvent{Duration: 4 * time.Second, PromptTokens: 800, CompletionTokens: 80, Refusal: true}, true},
		{knowledge.AnswerEvent{Duration: 5 * time.Second, Extractive: true, Fallback: true}, true},
		{knowledge.AnswerEvent{Duration: time.Minute, Err: errors.New("model down")}, true},
		{knowledge.AnswerEvent{Duration: time.Millisecond, Err: errors.New("store down")}, false},
		{knowledge.AnswerEvent{Duration: time.Second, Err: context.Canceled}, true},
	}
	for _, e := range events {
		m.observeAnswer(e.ev, e.withModel)
	}
	m.discordError("followup", 429)
	m.discordError("followup", 0)
	m.discordError("start_thread", 503)
	m.discordError("interaction_callback", 404)
	m.interaction("ask")
	m.interaction("feedback")
	m.embeddings(func() knowledge.EmbeddingStats { return knowledge.EmbeddingStats{Embedded: 120, Fallbacks: 2} })
	srv := httptest.NewServer(newOpsHandler(m, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`parley_questions_total{mode="extractive",outcome="answered"} 2`,
		`parley_questions_total{mode="extractive",outcome="refused"} 1`,
		`parley_questions_total{mode="extractive",outcome="error"} 1`,
		`parley_questions_total{mode="model",outcome="answered"} 1`,
		`parley_questions_total{mode="model",outcome="refused"} 1`,
		`parley_questions_total{mode="model",outcome="error"} 1`,
		`parley_questions_total{mode="model",outcome="interrupted"} 1`,
		`parley_model_tokens_total{kind="prompt"} 1700`,
		`parley_model_tokens_total{kind="completion"} 200`,
		`parley_model_fallbacks_total 1`,
		`parley_answer_duration_seconds_bucket{mode="extractive",le="0.025"} 2`,
		`parley_answer_duration_seconds_count{mode="model"} 4`,
		`parley_discord_errors_total{op="followup",status_class="429"} 1`,
		`parley_discord_errors_total{op="followup",status_class="network"} 1`,
		`parley_discord_errors_total{op="start_thread",status_class="5xx"} 1`,
		`parley_discord_errors_total{op="interaction_callback",status_class="4xx"} 1`,
		`parley_interactions_total{command="ask"} 1`,
		`parley_interactions_total{command="feedback"} 1`,
		`parley_interactions_total{command="gaps"} 0`,
		`parley_passages_embedded_total 120`,
		`parley_embedding_fallbacks_total 2`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestOpsAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value, want, wantErr string
	}{
		{"", "", ""},
		{"127.0.0.1:9090", "127.0.0.1:9090", ""},
		{" :9090 ", ":9090", ""},
		{"[::1]:0", "[::1]:0", ""},
		{"9090", "", "missing port"},
		{"localhost:http", "", `port "http" is not a number`},
		{"127.0.0.1:70000", "", "not a number from 0 to 65535"},
	} {
		a := &app{getenv: func(k string) string { return map[string]string{envHTTPAddr: tc.value}[k] }}
		got, err := a.opsAddr()
		switch {
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("PARLEY_HTTP_ADDR=%q: got %q, %v; want %q", tc.value, got, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), envHTTPAddr)):
			t.Errorf("PARLEY_HTTP_ADDR=%q: error %v, want one naming %s and saying %q", tc.value, err, envHTTPAddr, tc.wantErr)
		}
	}
}

func TestOpsAddressInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = startOps(ln.Addr().String(), http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), envHTTPAddr) {
		t.Errorf("startOps on a busy port: %v, want an error naming %s", err, envHTTPAddr)
	}
}

// TestBotConfigErrorsNameTheVariable checks the errors `parley bot` gives
// for bad operations settings before it touches the store or Discord.
func TestBotConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, value string }{
		{envLogFormat, "xml"}, {envLogLevel, "verbose"}, {envHTTPAddr, "nowhere"},
	} {
		br := newBotCmd(t, map[string]string{tc.name: tc.value})
		err := br.app.runBot(t.Context(), "", nil)
		if err == nil || !strings.Contains(err.Error(), tc.name) || strings.Contains(err.Error(), testDiscordToken) {
			t.Errorf("%s=%q: runBot = %v, want an error naming the variable", tc.name, tc.value, err)
		}
	}
}
