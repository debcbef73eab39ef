package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/prompts"
)

const testKey = "sk-test-0123456789secret"

var testMsgs = []prompts.Message{
	{Role: prompts.RoleSystem, Content: "Answer from the sources."},
	{Role: prompts.RoleUser, Content: "Has Hamas accepted the plan?"},
}

// fakeAPI is an OpenAI-compatible server whose behaviour per request is set
// by handle; n counts requests from 1.
type fakeAPI struct {
	srv      *httptest.Server
	requests atomic.Int32
	handle   func(w http.ResponseWriter, r *http.Request, n int)

	mu     sync.Mutex
	bodies []map[string]any
	auth   []string
	paths  []string
}

func newFakeAPI(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.requests.Add(1))
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.paths = append(f.paths, r.URL.Path)
		f.mu.Unlock()
		f.handle(w, r, n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) body(i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[i]
}

// sleeps records the delays the client asked to sleep, without sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// newTestClient returns a client for f with sleeps recorded, not slept.
func newTestClient(f *fakeAPI, cfg Config) (*Client, *sleeps) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = f.srv.URL + "/v1"
	}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	c := New(cfg)
	s := &sleeps{}
	c.sleep = s.sleep
	return c, s
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"message": msg, "type": "test_error"}})
}

func answer(text, finish string) map[string]any {
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "model": "test-model-2025",
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": text},
			"finish_reason": finish,
		}},
		"usage": map[string]any{"prompt_tokens": 120, "completion_tokens": 17, "total_tokens": 137},
	}
}

// writeSSE writes each event as a server-sent event, flushing after each.
func writeSSE(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, e := range events {
		fmt.Fprintf(w, "data: %s\n\n", e)
		w.(http.Flusher).Flush()
	}
}

func chunk(content, finish string) string {
	var fr any
	if finish != "" {
		fr = finish
	}
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "test-model-2025",
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": content}, "finish_reason": fr}},
	})
	return string(b)
}

const usageChunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"test-model-2025","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":17,"total_tokens":137}}`

func TestCompleteNonStream(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, http.StatusOK, answer("Hamas said it accepted the first phase [2].", "stop"))
	})
	c, _ := newTestClient(f, Config{})
	got, err := c.Complete(t.Context(), testMsgs, nil)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	want := Completion{Text: "Hamas said it accepted the first phase [2].", PromptTokens: 120, CompletionTokens: 17, FinishReason: "stop", Model: "test-model-2025"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if f.paths[0] != "/v1/chat/completions" {
		t.Errorf("path: got %q, want /v1/chat/completions", f.paths[0])
	}
	if f.auth[0] != "Bearer "+testKey {
		t.Errorf("Authorization: got %q, want the bearer key", f.auth[0])
	}
	body := f.body(0)
	if body["model"] != DefaultModel || body["max_tokens"] != float64(DefaultMaxTokens) || body["stream"] == true {
		t.Errorf("request body: got model=%v max_tokens=%v stream=%v, want %s, %d, not streaming", body["model"], body["max_tokens"], body["stream"], DefaultModel, DefaultMaxTokens)
	}
	if temp, _ := body["temperature"].(float64); temp < 0.19 || temp > 0.21 {
		t.Errorf("temperature: got %v, want 0.2", body["temperature"])
	}
	if _, ok := body["stream_options"]; ok {
		t.Error("stream_options sent without streaming; OpenAI rejects that")
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" || msgs[1].(map[string]any)["content"] != testMsgs[1].Content {
		t.Errorf("messages: got %v", msgs)
	}
}

func TestCompleteStream(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeSSE(w,
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"test-model-2025","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`,
			chunk("Hamas said ", ""),
			chunk("it accepted ", ""),
			chunk("the first phase [2].", ""),
			chunk("", "stop"),
			usageChunk,
			"[DONE]",
		)
	})
	c, _ := newTestClient(f, Config{Model: "llama3.1"})
	var deltas []string
	got, err := c.Complete(t.Context(), testMsgs, func(s string) { deltas = append(deltas, s) })
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if want := []string{"Hamas said ", "it accepted ", "the first phase [2]."}; !slices.Equal(deltas, want) {
		t.Errorf("deltas: got %q, want %q", deltas, want)
	}
	want := Completion{Text: "Hamas said it accepted the first phase [2].", PromptTokens: 120, CompletionTokens: 17, FinishReason: "stop", Model: "test-model-2025"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	body := f.body(0)
	if body["stream"] != true || body["model"] != "llama3.1" {
		t.Errorf("request: got stream=%v model=%v, want true, llama3.1", body["stream"], body["model"])
	}
	if so, _ := body["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Errorf("stream_options: got %v, want include_usage true", body["stream_options"])
	}
}

func TestRetryThenSuccess(t *testing.T) {
	tests := []struct {
		name   string
		stream bool
		fail   func(w http.ResponseWriter)
	}{
		{"429", false, func(w http.ResponseWriter) { writeAPIError(w, http.StatusTooManyRequests, "rate limited") }},
		{"503 plain text", false, func(w http.ResponseWriter) { http.Error(w, "upstream unavailable", http.StatusServiceUnavailable) }},
		{"429 streaming", true, func(w http.ResponseWriter) { writeAPIError(w, http.StatusTooManyRequests, "rate limited") }},
		{"connection dropped", false, func(w http.ResponseWriter) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
				switch {
				case n == 1:
					tt.fail(w)
				case tt.stream:
					writeSSE(w, chunk("ok [1]", ""), chunk("", "stop"), "[DONE]")
				default:
					writeJSON(w, http.StatusOK, answer("ok [1]", "stop"))
				}
			})
			c, s := newTestClient(f, Config{})
			var onDelta func(string)
			if tt.stream {
				onDelta = func(string) {}
			}
			got, err := c.Complete(t.Context(), testMsgs, onDelta)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if got.Text != "ok [1]" {
				t.Errorf("text: got %q, want %q", got.Text, "ok [1]")
			}
			if n := f.requests.Load(); n != 2 {
				t.Errorf("requests: got %d, want 2", n)
			}
			if d := s.got(); len(d) != 1 || d[0] < baseDelay/2 || d[0] > baseDelay {
				t.Errorf("sleeps: got %v, want one in [%s, %s]", d, baseDelay/2, baseDelay)
			}
		})
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeAPIError(w, http.StatusInternalServerError, "boom")
	})
	c, s := newTestClient(f, Config{})
	_, err := c.Complete(t.Context(), testMsgs, nil)
	if err == nil {
		t.Fatal("got nil error, want one")
	}
	if n := f.requests.Load(); n != DefaultMaxRetries+1 {
		t.Errorf("requests: got %d, want %d", n, DefaultMaxRetries+1)
	}
	se, ok := errors.AsType[*StatusError](err)
	if !ok || se.StatusCode != 500 || se.Message != "boom" {
		t.Errorf("got %v, want a *StatusError 500 boom", err)
	}
	if !strings.Contains(err.Error(), "4 attempts") {
		t.Errorf("got %q, want it to say 4 attempts", err)
	}
	d := s.got()
	if len(d) != DefaultMaxRetries {
		t.Fatalf("sleeps: got %v, want %d", d, DefaultMaxRetries)
	}
	for i, got := range d {
		hi := baseDelay << i
		if got < hi/2 || got > hi {
			t.Errorf("sleep %d: got %s, want within [%s, %s]", i, got, hi/2, hi)
		}
	}

	// MaxRetries < 0 turns retries off.
	f.requests.Store(0)
	c, _ = newTestClient(f, Config{MaxRetries: -1})
	if _, err := c.Complete(t.Context(), testMsgs, nil); err == nil {
		t.Fatal("got nil error, want one")
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("requests with MaxRetries -1: got %d, want 1", n)
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
				// OpenAI echoes (part of) a wrong key; it must not reach our errors.
				writeAPIError(w, code, "Incorrect API key provided: "+testKey)
			})
			c, s := newTestClient(f, Config{})
			_, err := c.Complete(t.Context(), testMsgs, nil)
			se, ok := errors.AsType[*StatusError](err)
			if !ok || se.StatusCode != code {
				t.Fatalf("got %v, want a *StatusError %d", err, code)
			}
			if n := f.requests.Load(); n != 1 {
				t.Errorf("requests: got %d, want 1", n)
			}
			if len(s.got()) != 0 {
				t.Errorf("slept %v, want no sleeps", s.got())
			}
			if strings.Contains(err.Error(), testKey) || strings.Contains(se.Message, testKey) {
				t.Errorf("error leaks the API key: %q", err)
			}
			if code == 404 && se.Hint != "" {
				t.Errorf("hint %q given though the base URL ends in /v1", se.Hint)
			}
		})
	}
}

func TestNotFoundHint(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.NotFound(w, r)
	})
	for _, base := range []string{f.srv.URL, f.srv.URL + "/api/"} {
		c, _ := newTestClient(f, Config{BaseURL: base})
		_, err := c.Complete(t.Context(), testMsgs, nil)
		if err == nil || !strings.Contains(err.Error(), "the base URL usually ends in /v1") {
			t.Errorf("base %s: got %v, want the /v1 hint", base, err)
		}
		_, err = c.Embed(t.Context(), []string{"x"})
		if err == nil || !strings.Contains(err.Error(), "the base URL usually ends in /v1") {
			t.Errorf("Embed, base %s: got %v, want the /v1 hint", base, err)
		}
	}
	c, _ := newTestClient(f, Config{BaseURL: f.srv.URL + "/v1/"})
	if _, err := c.Complete(t.Context(), testMsgs, nil); err == nil || strings.Contains(err.Error(), "hint") {
		t.Errorf("base ending in /v1/: got %v, want a 404 error without the hint", err)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name      string
		header    string
		value     string
		wantSleep []time.Duration
		wantReqs  int32
	}{
		{"seconds", "Retry-After", "2", []time.Duration{2 * time.Second}, 2},
		{"milliseconds", "Retry-After-Ms", "1500", []time.Duration{1500 * time.Millisecond}, 2},
		{"too long to wait", "Retry-After", "60", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.Header().Set(tt.header, tt.value)
					writeAPIError(w, http.StatusTooManyRequests, "slow down")
					return
				}
				writeJSON(w, http.StatusOK, answer("ok [1]", "stop"))
			})
			c, s := newTestClient(f, Config{})
			_, err := c.Complete(t.Context(), testMsgs, nil)
			if got := s.got(); !slices.Equal(got, tt.wantSleep) {
				t.Errorf("sleeps: got %v, want %v", got, tt.wantSleep)
			}
			if n := f.requests.Load(); n != tt.wantReqs {
				t.Errorf("requests: got %d, want %d", n, tt.wantReqs)
			}
			if tt.wantReqs == 1 {
				se, ok := errors.AsType[*StatusError](err)
				if !ok || se.RetryAfter != time.Minute {
					t.Errorf("got %v, want a *StatusError with RetryAfter 1m", err)
				}
			} else if err != nil {
				t.Errorf("Complete: %v", err)
			}
		})
	}
}

func TestStalledServer(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
				<-r.Context().Done()
			})
			c, _ := newTestClient(f, Config{Timeout: 300 * time.Millisecond})
			var onDelta func(string)
			if stream {
				onDelta = func(string) {}
			}
			start := time.Now()
			_, err := c.Complete(t.Context(), testMsgs, onDelta)
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("returned after %s, want about 300ms", elapsed)
			}
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrStalled) {
				t.Errorf("got %v, want a deadline or stall error", err)
			}
		})
	}
}

func TestStallMidStream(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeSSE(w, chunk("Hamas said ", ""))
		<-r.Context().Done()
	})
	c, _ := newTestClient(f, Config{Timeout: 10 * time.Second, StallTimeout: 200 * time.Millisecond})
	var deltas []string
	start := time.Now()
	_, err := c.Complete(t.Context(), testMsgs, func(s string) { deltas = append(deltas, s) })
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("got %v, want ErrStalled", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("returned after %s, want about 200ms", elapsed)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("requests: got %d, want 1 (text was already delivered)", n)
	}
	if !slices.Equal(deltas, []string{"Hamas said "}) {
		t.Errorf("deltas: got %q", deltas)
	}
}

// A slow onDelta (a Discord edit, say) is not a silent server.
func TestSlowConsumerIsNotAStall(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeSSE(w, chunk("a", ""), chunk("b", ""), chunk("", "stop"), "[DONE]")
	})
	c, _ := newTestClient(f, Config{StallTimeout: 50 * time.Millisecond})
	got, err := c.Complete(t.Context(), testMsgs, func(string) { time.Sleep(150 * time.Millisecond) })
	if err != nil || got.Text != "ab" {
		t.Errorf("got %q, %v; want \"ab\", nil", got.Text, err)
	}
}

func TestStallBeforeFirstByteRetried(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-r.Context().Done()
			return
		}
		writeSSE(w, chunk("ok [1]", ""), chunk("", "stop"), "[DONE]")
	})
	c, _ := newTestClient(f, Config{Timeout: 10 * time.Second, StallTimeout: 100 * time.Millisecond})
	got, err := c.Complete(t.Context(), testMsgs, func(string) {})
	if err != nil || got.Text != "ok [1]" {
		t.Errorf("got %q, %v; want \"ok [1]\", nil", got.Text, err)
	}
	if n := f.requests.Load(); n != 2 {
		t.Errorf("requests: got %d, want 2", n)
	}
}

func TestIncompleteStream(t *testing.T) {
	tests := []struct {
		name     string
		events   []string
		wantReqs int32
	}{
		{"no finish reason, no DONE", []string{chunk("Hamas said ", ""), chunk("it", "")}, 1},
		{"DONE without finish reason", []string{chunk("Hamas said ", ""), "[DONE]"}, 1},
		// Nothing was shown to anyone, so it is worth another try.
		{"empty stream", nil, DefaultMaxRetries + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
				writeSSE(w, tt.events...)
			})
			c, _ := newTestClient(f, Config{})
			_, err := c.Complete(t.Context(), testMsgs, func(string) {})
			if !errors.Is(err, ErrIncomplete) {
				t.Errorf("got %v, want ErrIncomplete", err)
			}
			if n := f.requests.Load(); n != tt.wantReqs {
				t.Errorf("requests: got %d, want %d", n, tt.wantReqs)
			}
		})
	}
}

func TestLengthWithoutText(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, http.StatusOK, answer("", "length"))
	})
	c, _ := newTestClient(f, Config{})
	if _, err := c.Complete(t.Context(), testMsgs, nil); !errors.Is(err, ErrIncomplete) {
		t.Errorf("got %v, want ErrIncomplete", err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("requests: got %d, want 1", n)
	}
}

func TestStreamErrorEvent(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeSSE(w, `{"error":{"message":"provider overloaded","type":"server_error"}}`)
	})
	c, _ := newTestClient(f, Config{})
	_, err := c.Complete(t.Context(), testMsgs, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "provider overloaded") {
		t.Errorf("got %v, want the server's error message", err)
	}
}

func TestCallerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		cancel()
		<-r.Context().Done()
	})
	c, s := newTestClient(f, Config{})
	_, err := c.Complete(ctx, testMsgs, func(string) {})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if n := f.requests.Load(); n != 1 || len(s.got()) != 0 {
		t.Errorf("got %d requests and sleeps %v, want 1 and none", n, s.got())
	}
}

func TestCompleteRejectsBadMessages(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, http.StatusOK, answer("ok", "stop"))
	})
	c, _ := newTestClient(f, Config{})
	for _, msgs := range [][]prompts.Message{nil, {{Role: "tool", Content: "x"}}} {
		if _, err := c.Complete(t.Context(), msgs, nil); err == nil {
			t.Errorf("Complete(%v): got nil error, want one", msgs)
		}
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("requests: got %d, want 0", n)
	}
}

// Concurrent calls on one Client each see their own Retry-After.
func TestConcurrentCalls(t *testing.T) {
	var seen sync.Map
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if _, again := seen.LoadOrStore(r.Header.Get("X-Call"), true); !again {
			w.Header().Set("Retry-After", "1")
			writeAPIError(w, http.StatusTooManyRequests, "slow down")
			return
		}
		writeSSE(w, chunk("ok", ""), chunk("", "stop"), "[DONE]")
	})
	c, s := newTestClient(f, Config{HTTPClient: &http.Client{Transport: callTagger{}}})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			ctx := context.WithValue(t.Context(), callTagKey{}, fmt.Sprint(i))
			if _, err := c.Complete(ctx, testMsgs, func(string) {}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.requests.Load(); n != 32 {
		t.Errorf("requests: got %d, want 32", n)
	}
	for _, d := range s.got() {
		if d != time.Second {
			t.Errorf("sleep: got %s, want 1s", d)
		}
	}
}

type callTagKey struct{}

// callTagger marks each request with the call it belongs to.
type callTagger struct{}

func (callTagger) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Call", r.Context().Value(callTagKey{}).(string))
	return http.DefaultTransport.RoundTrip(r)
}

func TestEmbed(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		// Out of order on purpose: the index decides.
		writeJSON(w, http.StatusOK, map[string]any{
			"object": "list", "model": "nomic-embed-text",
			"data": []any{
				map[string]any{"object": "embedding", "index": 1, "embedding": []float32{0.5, -1}},
				map[string]any{"object": "embedding", "index": 0, "embedding": []float32{1, 0.25}},
			},
			"usage": map[string]any{"prompt_tokens": 4, "total_tokens": 4},
		})
	})
	c, _ := newTestClient(f, Config{EmbedModel: "nomic-embed-text"})
	got, err := c.Embed(t.Context(), []string{"ceasefire", "hostages"})
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	want := [][]float32{{1, 0.25}, {0.5, -1}}
	if len(got) != 2 || !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
		t.Errorf("got %v, want %v", got, want)
	}
	body := f.body(0)
	if f.paths[0] != "/v1/embeddings" || body["model"] != "nomic-embed-text" {
		t.Errorf("request: got %s model=%v, want /v1/embeddings model=nomic-embed-text", f.paths[0], body["model"])
	}
	if in, _ := body["input"].([]any); len(in) != 2 || in[0] != "ceasefire" {
		t.Errorf("input: got %v", body["input"])
	}

	if got, err := c.Embed(t.Context(), nil); got != nil || err != nil {
		t.Errorf("Embed(nil): got %v, %v; want nil, nil", got, err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("requests: got %d, want 1", n)
	}
}

func TestConfigHidesKey(t *testing.T) {
	cfg := Config{BaseURL: "https://user:pw@example.com/v1", APIKey: testKey, Model: "m"}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "llm", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%v", &cfg), logged.String()} {
		if strings.Contains(s, testKey) || strings.Contains(s, "pw@") {
			t.Errorf("secret in %q", s)
		}
	}
}

// The transport error from a refused connection is retried, then reported
// with what was being done.
func TestConnectionRefused(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {})
	url := f.srv.URL
	f.srv.Close()
	c, s := newTestClient(f, Config{BaseURL: url + "/v1", MaxRetries: 1})
	_, err := c.Complete(t.Context(), testMsgs, nil)
	if err == nil || !strings.Contains(err.Error(), "chat completion") || !strings.Contains(err.Error(), "2 attempts") {
		t.Errorf("got %v, want an error naming the chat completion and 2 attempts", err)
	}
	if len(s.got()) != 1 {
		t.Errorf("sleeps: got %v, want 1", s.got())
	}
}
