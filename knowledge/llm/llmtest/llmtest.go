// Package llmtest is a scripted OpenAI-compatible chat completions server
// for tests: each request takes the next reply, the last one repeating. It
// streams when asked to, so the real go-openai client can be driven
// end to end without a network. It also serves /embeddings, with vectors
// from a function of each text (see Server.Embed).
package llmtest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// Reply is one scripted answer.
type Reply struct {
	Status int           // HTTP status; 0 means 200
	Text   string        // the assistant's text
	Stall  bool          // hold the request until the client gives up
	Chunks int           // when the request streams, send Text in this many pieces
	Delay  time.Duration // wait before answering
}

// Server is a running fake endpoint. Its URL ends in /v1, as an
// OpenAI-compatible base URL does.
type Server struct {
	URL string

	// Embed makes the vector for one text at /embeddings; nil means
	// HashedWords. Set it before the first request.
	Embed func(text string) []float32
	// EmbedStatus, when not 0 or 200, is returned by /embeddings instead
	// of vectors.
	EmbedStatus int

	mu         sync.Mutex
	replies    []Reply
	calls      int
	prompts    []string
	embedCalls int
	embedded   []string
}

// New starts a server with the given replies, stopped at the end of the test.
func New(t testing.TB, replies ...Reply) *Server {
	if len(replies) == 0 {
		replies = []Reply{{Text: "NO_ANSWER"}}
	}
	s := &Server{replies: replies}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/v1"
	return s
}

// Calls returns how many requests arrived.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Prompts returns the user messages received, in order.
func (s *Server) Prompts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.prompts...)
}

// EmbedCalls returns how many /embeddings requests arrived.
func (s *Server) EmbedCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.embedCalls
}

// Embedded returns every text sent to /embeddings, in order.
func (s *Server) Embedded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.embedded...)
}

// HashedWords is a stand-in embedding: each lower-cased word adds one to
// a dimension chosen by its hash, so texts sharing words point the same
// way. It has no notion of meaning; tests that need synonyms set
// Server.Embed.
func HashedWords(text string) []float32 {
	v := make([]float32, 64)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		h := fnv.New32a()
		h.Write([]byte(w))
		v[h.Sum32()%64]++
	}
	return v
}

func (s *Server) serveEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Input []string `json:"input"`
		Model string   `json:"model"`
	}
	err := json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	s.embedCalls++
	s.embedded = append(s.embedded, req.Input...)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if s.EmbedStatus != 0 && s.EmbedStatus != http.StatusOK {
		w.WriteHeader(s.EmbedStatus)
		fmt.Fprintf(w, `{"error": {"message": "scripted status %d", "type": "test"}}`, s.EmbedStatus)
		return
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error": {"message": %q, "type": "invalid_request_error"}}`, err.Error())
		return
	}
	embed := s.Embed
	if embed == nil {
		embed = HashedWords
	}
	data := make([]any, len(req.Input))
	for i, text := range req.Input {
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": embed(text)}
	}
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model, "data": data,
		"usage": map[string]any{"prompt_tokens": 10, "total_tokens": 10}})
}

type request struct {
	Stream   bool `json:"stream"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/embeddings") {
		s.serveEmbeddings(w, r)
		return
	}
	var req request
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	rep := s.replies[min(s.calls, len(s.replies)-1)]
	s.calls++
	for _, m := range req.Messages {
		if m.Role == "user" {
			s.prompts = append(s.prompts, m.Content)
		}
	}
	s.mu.Unlock()

	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if rep.Stall {
		<-r.Context().Done()
		return
	}
	if rep.Status != 0 && rep.Status != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.Status)
		fmt.Fprintf(w, `{"error": {"message": "scripted status %d", "type": "test"}}`, rep.Status)
		return
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion", "model": "fake-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": rep.Text}}},
			"usage": map[string]any{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	pieces := max(rep.Chunks, 1)
	size := max((len(rep.Text)+pieces-1)/pieces, 1)
	for i := 0; i < len(rep.Text); i += size {
		chunk(w, map[string]any{"content": rep.Text[i:min(i+size, len(rep.Text))]}, nil)
		flush()
	}
	chunk(w, map[string]any{}, "stop")
	fmt.Fprint(w, "data: [DONE]\n\n")
	flush()
}

func chunk(w http.ResponseWriter, delta map[string]any, finish any) {
	b, _ := json.Marshal(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": "fake-model",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
	fmt.Fprintf(w, "data: %s\n\n", b)
}
