// Package llm is Parley's adapter to any OpenAI-compatible chat and
// embeddings endpoint (OpenAI, Ollama, vLLM, the llama.cpp server,
// OpenRouter). Callers see prompts.Message values in and plain Go values and
// errors out; the client library stays inside.
//
// Every call is bounded by Config.Timeout, retried on rate limits, server
// errors and network failures, and a streamed answer that stalls or ends
// without a finish reason is an error, never an answer.
package llm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"parley/prompts"
)

// Defaults for zero Config fields.
const (
	DefaultModel       = "gpt-4o-mini"
	DefaultEmbedModel  = "text-embedding-3-small"
	DefaultTimeout     = 2 * time.Minute
	DefaultMaxRetries  = 3
	DefaultTemperature = 0.2
	DefaultMaxTokens   = 600

	// maxStall is the longest silence tolerated from a stream.
	maxStall = 30 * time.Second
	// baseDelay is the first retry delay before jitter; it doubles per retry.
	baseDelay = 500 * time.Millisecond
	// maxRetryDelay caps retry sleeps. A server asking for a longer wait
	// gets none: the call fails at once and the caller can tell the user.
	maxRetryDelay = 10 * time.Second
)

var (
	// ErrIncomplete means the model gave no usable answer: a stream ended
	// without a finish reason, or the token limit was reached before any
	// text.
	ErrIncomplete = errors.New("incomplete answer")
	// ErrStalled means a stream sent nothing for longer than the stall
	// timeout and was cancelled.
	ErrStalled = errors.New("stream stalled")
)

// Config configures a Client. Zero fields take the defaults noted.
type Config struct {
	BaseURL     string        // OPENAI_BASE_URL; "" = OpenAI's https://api.openai.com/v1
	APIKey      string        // OPENAI_API_KEY; may be "" for local servers
	Model       string        // PARLEY_MODEL; "" = DefaultModel
	EmbedModel  string        // model for Embed; "" = DefaultEmbedModel
	Timeout     time.Duration // deadline for a whole call, retries included; 0 = 2m
	MaxRetries  int           // retries after the first attempt; 0 = 3, negative = none
	Temperature float32       // 0 = 0.2 (the wire format cannot carry an explicit 0)
	MaxTokens   int           // answer length limit; 0 = 600
	// StallTimeout is the longest a stream may go without sending a byte,
	// including the wait for the first one; 0 = min(30s, Timeout). Raise it
	// for slow local servers that take long to read a prompt.
	StallTimeout time.Duration
	// HTTPClient is used for every request; nil = a client whose transport
	// honours HTTPS_PROXY and NO_PROXY and trusts the system roots. Its
	// Timeout should be 0: streams are bounded by the fields above.
	HTTPClient *http.Client
}

// String describes the configuration without the API key, so that logging
// a Config by accident leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("llm.Config{BaseURL:%q Model:%q EmbedModel:%q Timeout:%s MaxRetries:%d APIKey:%s}",
		redactURL(c.BaseURL), c.Model, c.EmbedModel, c.Timeout, c.MaxRetries, keyState(c.APIKey))
}

// LogValue is String for log/slog.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", redactURL(c.BaseURL)),
		slog.String("model", c.Model),
		slog.String("embed_model", c.EmbedModel),
		slog.Duration("timeout", c.Timeout),
		slog.Int("max_retries", c.MaxRetries),
		slog.String("api_key", keyState(c.APIKey)),
	)
}

func keyState(key string) string {
	if key == "" {
		return "unset"
	}
	return "set"
}

// Completion is a finished answer.
type Completion struct {
	Text             string
	PromptTokens     int // 0 if the server reported no usage
	CompletionTokens int
	FinishReason     string // "stop", "length", "content_filter", ...
	Model            string // as reported by the server
}

// StatusError is an HTTP error status from the endpoint.
type StatusError struct {
	StatusCode int
	Message    string        // the server's message, shortened, with the key removed
	RetryAfter time.Duration // how long the server asked to wait; 0 if it did not say
	Hint       string        // what to check, when there is an obvious guess
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

// Client talks to one endpoint. It is safe for concurrent use.
type Client struct {
	api         *openai.Client
	key         string // kept only to scrub it from errors
	baseURL     string // as configured, for hints
	model       string
	embedModel  string
	timeout     time.Duration
	stall       time.Duration
	maxRetries  int
	temperature float32
	maxTokens   int
	// sleep waits between attempts; tests replace it to record delays.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a client for cfg. It does not contact the endpoint.
func New(cfg Config) *Client {
	c := &Client{
		key:         cfg.APIKey,
		baseURL:     cfg.BaseURL,
		model:       orDefault(cfg.Model, DefaultModel),
		embedModel:  orDefault(cfg.EmbedModel, DefaultEmbedModel),
		timeout:     cfg.Timeout,
		stall:       cfg.StallTimeout,
		maxRetries:  cfg.MaxRetries,
		temperature: cfg.Temperature,
		maxTokens:   cfg.MaxTokens,
		sleep:       sleepCtx,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.stall <= 0 {
		c.stall = min(maxStall, c.timeout)
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.temperature <= 0 {
		c.temperature = DefaultTemperature
	}
	if c.maxTokens <= 0 {
		c.maxTokens = DefaultMaxTokens
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// DefaultTransport's clone already uses ProxyFromEnvironment and the
		// system roots; a clone keeps our connection pool to ourselves.
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = cfg.BaseURL
	}
	oc.HTTPClient = &doer{hc: hc}
	c.api = openai.NewClientWithConfig(oc)
	return c
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Complete sends msgs and returns the whole answer. If onDelta is non-nil the
// answer is streamed and onDelta is called with each piece of text as it
// arrives, in order, on the calling goroutine; time spent in onDelta counts
// toward Timeout but not toward the stall timeout. Once onDelta has been
// called the call is no longer retried.
//
// Errors: ErrIncomplete (no finish reason, or the token limit hit before
// any text), ErrStalled, *StatusError for HTTP error statuses, and the
// context's error (context.DeadlineExceeded when Timeout ran out). A
// finish reason of "length" with some text is returned as an answer; the
// caller decides whether a cut answer is usable.
func (c *Client) Complete(ctx context.Context, msgs []prompts.Message, onDelta func(string)) (Completion, error) {
	req, err := c.chatRequest(msgs)
	if err != nil {
		return Completion{}, fmt.Errorf("llm: chat completion: %w", err)
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var out Completion
	attempts, err := c.retry(callCtx, func(ctx context.Context, st *attemptState) error {
		var err error
		if onDelta == nil {
			out, err = c.completeOnce(ctx, st, req)
		} else {
			out, err = c.streamOnce(ctx, st, req, onDelta)
		}
		return err
	})
	if err != nil {
		return Completion{}, c.fail(ctx, callCtx, "chat completion with model "+strconv.Quote(c.model), attempts, err)
	}
	return out, nil
}

func (c *Client) chatRequest(msgs []prompts.Message) (openai.ChatCompletionRequest, error) {
	if len(msgs) == 0 {
		return openai.ChatCompletionRequest{}, errors.New("no messages")
	}
	req := openai.ChatCompletionRequest{
		Model:       c.model,
		Temperature: c.temperature,
	}
	// max_tokens, not max_completion_tokens: the OpenAI-compatible servers
	// Parley targets (Ollama, vLLM, llama.cpp) read the older field, and
	// OpenAI still accepts it for chat models.
	//lint:ignore SA1019 see above
	req.MaxTokens = c.maxTokens
	for i, m := range msgs {
		switch m.Role {
		case prompts.RoleSystem, prompts.RoleUser, prompts.RoleAssistant:
		default:
			return openai.ChatCompletionRequest{}, fmt.Errorf("message %d: unknown role %q", i, m.Role)
		}
		req.Messages = append(req.Messages, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	return req, nil
}

func (c *Client) completeOnce(ctx context.Context, st *attemptState, req openai.ChatCompletionRequest) (Completion, error) {
	resp, err := c.api.CreateChatCompletion(ctx, req)
	if err != nil {
		return Completion{}, c.attemptErr(ctx, err, st)
	}
	if len(resp.Choices) == 0 {
		return Completion{}, errors.New("the response has no choices")
	}
	ch := resp.Choices[0]
	out := Completion{
		Text:             ch.Message.Content,
		PromptTokens:     resp.Usage.PromptTokens,
		CompletionTokens: resp.Usage.CompletionTokens,
		FinishReason:     string(ch.FinishReason),
		Model:            orDefault(resp.Model, c.model),
	}
	return out, c.checkFinish(out)
}

func (c *Client) streamOnce(ctx context.Context, st *attemptState, req openai.ChatCompletionRequest, onDelta func(string)) (Completion, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(c.stall, func() { cancel(ErrStalled) })
	defer watchdog.Stop()
	st.progress = func() { watchdog.Reset(c.stall) }

	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	stream, err := c.api.CreateChatCompletionStream(ctx, req)
	if err != nil {
		return Completion{}, c.attemptErr(ctx, err, st)
	}
	defer stream.Close()

	out := Completion{Model: c.model}
	var text strings.Builder
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Completion{}, c.attemptErr(ctx, err, st)
		}
		if chunk.Model != "" {
			out.Model = chunk.Model
		}
		if u := chunk.Usage; u != nil {
			out.PromptTokens, out.CompletionTokens = u.PromptTokens, u.CompletionTokens
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue
			}
			if ch.FinishReason != "" {
				out.FinishReason = string(ch.FinishReason)
			}
			if d := ch.Delta.Content; d != "" {
				text.WriteString(d)
				st.delivered = true
				// A slow consumer is not a silent server.
				watchdog.Stop()
				onDelta(d)
				watchdog.Reset(c.stall)
			}
		}
	}
	out.Text = text.String()
	if out.FinishReason == "" {
		return Completion{}, transient{fmt.Errorf("%w: the stream ended without a finish reason", ErrIncomplete)}
	}
	return out, c.checkFinish(out)
}

func (c *Client) checkFinish(out Completion) error {
	if out.FinishReason == string(openai.FinishReasonLength) && strings.TrimSpace(out.Text) == "" {
		return fmt.Errorf("%w: the token limit (%d) was reached before any answer text", ErrIncomplete, c.maxTokens)
	}
	return nil
}

// Embed returns one vector per text, in the order of texts. It returns nil
// and no request for no texts. Errors are as for Complete.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var out [][]float32
	attempts, err := c.retry(callCtx, func(ctx context.Context, st *attemptState) error {
		resp, err := c.api.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{
			Input: texts,
			Model: openai.EmbeddingModel(c.embedModel),
		})
		if err != nil {
			return c.attemptErr(ctx, err, st)
		}
		if len(resp.Data) != len(texts) {
			return fmt.Errorf("got %d embeddings for %d texts", len(resp.Data), len(texts))
		}
		vecs := make([][]float32, len(texts))
		for _, d := range resp.Data {
			if d.Index < 0 || d.Index >= len(vecs) || vecs[d.Index] != nil {
				return fmt.Errorf("embedding index %d is out of range or repeated", d.Index)
			}
			vecs[d.Index] = d.Embedding
		}
		out = vecs
		return nil
	})
	if err != nil {
		return nil, c.fail(ctx, callCtx, fmt.Sprintf("embed %s with model %q", plural(len(texts), "text"), c.embedModel), attempts, err)
	}
	return out, nil
}

// retry runs call until it succeeds, fails for good, or ctx ends, and
// returns the number of attempts and the last error.
func (c *Client) retry(ctx context.Context, call func(context.Context, *attemptState) error) (int, error) {
	for n := 1; ; n++ {
		st := &attemptState{}
		err := call(context.WithValue(ctx, attemptKey{}, st), st)
		if err == nil || ctx.Err() != nil || n > c.maxRetries || st.delivered || !retryable(err) {
			return n, err
		}
		d := backoff(n)
		if se, ok := errors.AsType[*StatusError](err); ok && se.RetryAfter > 0 {
			if se.RetryAfter > maxRetryDelay {
				return n, err
			}
			d = max(d, se.RetryAfter)
		}
		// Sleeping past the deadline only turns a clear error into a timeout.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return n, err
		}
		if c.sleep(ctx, d) != nil {
			return n, err
		}
	}
}

// backoff returns the jittered delay before retry n (1-based): between half
// and all of baseDelay·2^(n-1), capped at maxRetryDelay.
func backoff(n int) time.Duration {
	d := maxRetryDelay
	if n <= 10 {
		d = min(baseDelay<<(n-1), maxRetryDelay)
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// transient marks an error worth another attempt.
type transient struct{ error }

func (t transient) Unwrap() error { return t.error }

func retryable(err error) bool {
	if se, ok := errors.AsType[*StatusError](err); ok {
		return se.StatusCode == http.StatusRequestTimeout || se.StatusCode == http.StatusTooManyRequests || se.StatusCode >= 500
	}
	if _, ok := errors.AsType[transient](err); ok {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// Certificates and unknown hosts do not fix themselves within seconds.
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return false
	}
	if de, ok := errors.AsType[*net.DNSError](err); ok && de.IsNotFound {
		return false
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// attemptErr turns an error from the client library into one of ours.
func (c *Client) attemptErr(ctx context.Context, err error, st *attemptState) error {
	if errors.Is(context.Cause(ctx), ErrStalled) {
		return transient{fmt.Errorf("%w: nothing received for %s", ErrStalled, c.stall)}
	}
	if re, ok := errors.AsType[*openai.RequestError](err); ok && re.HTTPStatusCode > 0 {
		msg := strings.TrimSpace(string(re.Body))
		if ae, ok := errors.AsType[*openai.APIError](re.Err); ok && ae.Message != "" {
			msg = ae.Message
		}
		return c.statusError(re.HTTPStatusCode, msg, st)
	}
	if ae, ok := errors.AsType[*openai.APIError](err); ok {
		if ae.HTTPStatusCode > 0 {
			return c.statusError(ae.HTTPStatusCode, ae.Message, st)
		}
		// An error event inside a stream that had started with 200 OK.
		return fmt.Errorf("the server reported an error: %s", c.scrub(shorten(ae.Message)))
	}
	return err
}

func (c *Client) statusError(code int, msg string, st *attemptState) *StatusError {
	e := &StatusError{StatusCode: code, Message: c.scrub(shorten(msg)), RetryAfter: retryAfter(st.header)}
	if code == http.StatusNotFound && c.baseURL != "" && !strings.HasSuffix(strings.TrimRight(c.baseURL, "/"), "/v1") {
		e.Hint = fmt.Sprintf("the base URL usually ends in /v1, and %q does not", redactURL(c.baseURL))
	}
	return e
}

// retryAfter reads the wait a server asked for: retry-after-ms (Azure,
// OpenAI) or Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// fail builds the error a call returns: what was being done and why it
// stopped, never the API key.
func (c *Client) fail(parent, callCtx context.Context, op string, attempts int, err error) error {
	switch {
	case parent.Err() != nil:
		err = fmt.Errorf("llm: %s: %w", op, context.Cause(parent))
	case callCtx.Err() != nil:
		err = fmt.Errorf("llm: %s: no answer within %s (%s): %w", op, c.timeout, plural(attempts, "attempt"), context.DeadlineExceeded)
	default:
		err = fmt.Errorf("llm: %s (%s): %w", op, plural(attempts, "attempt"), err)
	}
	if c.key != "" && strings.Contains(err.Error(), c.key) {
		err = &scrubbed{msg: c.scrub(err.Error()), err: err}
	}
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// scrubbed replaces an error's text, keeping the chain for errors.Is.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

func (c *Client) scrub(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[redacted]")
}

// shorten makes a server message fit in a log line: one line, at most 300
// characters.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}

// redactURL hides any password in a base URL before it is shown.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// attemptState is what one attempt learns below the client library: the
// response headers (for Retry-After) and a hook called as bytes arrive.
type attemptState struct {
	header    http.Header
	progress  func()
	delivered bool // text was handed to onDelta, so no retry
}

type attemptKey struct{}

// doer sits between the client library and net/http so each attempt can
// see response headers and body progress, which the library does not
// expose on errors or streams. It finds the attempt through the request's
// context, so one Client serves concurrent calls.
type doer struct{ hc *http.Client }

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(req)
	st, _ := req.Context().Value(attemptKey{}).(*attemptState)
	if err != nil || st == nil {
		return resp, err
	}
	st.header = resp.Header
	if st.progress != nil {
		st.progress()
		resp.Body = &progressBody{ReadCloser: resp.Body, progress: st.progress}
	}
	return resp, nil
}

type progressBody struct {
	io.ReadCloser
	progress func()
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.progress()
	}
	return n, err
}
