package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"parley/knowledge"
)

// envHTTPAddr turns on the operations listener (/healthz and /metrics)
// beside `parley bot`.
const envHTTPAddr = "PARLEY_HTTP_ADDR"

// Limits of the operations listener. Its clients are a load balancer's
// probe and a Prometheus scraper, both quick; nothing slow deserves a
// connection for long.
const (
	opsReadHeaderTimeout = 5 * time.Second
	opsReadTimeout       = 10 * time.Second
	opsWriteTimeout      = 30 * time.Second
	opsIdleTimeout       = 2 * time.Minute
	opsMaxHeaderBytes    = 16 << 10
	opsShutdownTimeout   = 5 * time.Second
	healthTimeout        = 2 * time.Second
)

// opsAddr reads PARLEY_HTTP_ADDR: "" (off) or a host:port to listen on,
// such as 127.0.0.1:9090; an empty host listens on every interface. Its
// error names the variable.
func (a *app) opsAddr() (string, error) {
	addr := strings.TrimSpace(a.getenv(envHTTPAddr))
	if addr == "" {
		return "", nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			err = fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
	}
	if err != nil {
		return "", fmt.Errorf("%s=%q: want HOST:PORT, such as 127.0.0.1:9090 (%v)", envHTTPAddr, addr, err)
	}
	return addr, nil
}

// Values of the metrics' labels.
const (
	outcomeAnswered    = "answered"
	outcomeRefused     = "refused"
	outcomeError       = "error"
	outcomeInterrupted = "interrupted"
	modeExtractive     = "extractive"
	modeModel          = "model"
)

// metrics are Parley's Prometheus metrics, in a registry of their own (no
// package-level state), with the Go runtime's and the process's.
type metrics struct {
	reg          *prometheus.Registry
	questions    *prometheus.CounterVec   // outcome, mode
	latency      *prometheus.HistogramVec // mode
	tokens       *prometheus.CounterVec   // kind
	fallbacks    prometheus.Counter
	discordErrs  *prometheus.CounterVec // op, status_class
	interactions *prometheus.CounterVec // command
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		questions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_questions_total",
			Help: "Questions the answer pipeline finished, by outcome (answered, refused, error, interrupted) and mode (extractive or model).",
		}, []string{"outcome", "mode"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_answer_duration_seconds",
			Help: "Time to answer a question (search, model, checks), by mode.",
			// Extractive answers take milliseconds, model answers seconds
			// to minutes.
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160},
		}, []string{"mode"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_model_tokens_total",
			Help: "Tokens the language model reported using, by kind (prompt or completion).",
		}, []string{"kind"}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_model_fallbacks_total",
			Help: "Answers made extractively because the language model failed.",
		}),
		discordErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_discord_errors_total",
			Help: "Failed Discord REST attempts, retried ones included, by operation and status class (429, 4xx, 5xx, network).",
		}, []string{"op", "status_class"}),
		interactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_interactions_total",
			Help: "Discord interactions received, by command (ask, source, gaps, feedback, modal, unknown, other).",
		}, []string{"command"}),
	}
	m.reg.MustRegister(m.questions, m.latency, m.tokens, m.fallbacks, m.discordErrs, m.interactions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series that exist from the start read 0 rather than missing, so
	// rates and alerts work before the first event.
	for _, mode := range []string{modeExtractive, modeModel} {
		for _, outcome := range []string{outcomeAnswered, outcomeRefused, outcomeError, outcomeInterrupted} {
			m.questions.WithLabelValues(outcome, mode)
		}
		m.latency.WithLabelValues(mode)
	}
	m.tokens.WithLabelValues("prompt")
	m.tokens.WithLabelValues("completion")
	for _, c := range []string{"ask", "source", "gaps", "feedback", "modal"} {
		m.interactions.WithLabelValues(c)
	}
	return m
}

// instrument makes an Answerer report to m; pass it to newAnswerer.
func (m *metrics) instrument(o *knowledge.AnswererOptions) {
	withModel := o.Model != nil
	o.Observe = func(ev knowledge.AnswerEvent) { m.observeAnswer(ev, withModel) }
}

// observeAnswer records one Answer call. withModel says whether the
// Answerer has a model: it names the mode of a failed answer, which has no
// answer to tell.
func (m *metrics) observeAnswer(ev knowledge.AnswerEvent, withModel bool) {
	mode := modeModel
	if (ev.Err == nil && ev.Extractive) || (ev.Err != nil && !withModel) {
		mode = modeExtractive
	}
	outcome := outcomeAnswered
	switch {
	case errors.Is(ev.Err, context.Canceled):
		// The bot stopping mid-answer, not a fault.
		outcome = outcomeInterrupted
	case ev.Err != nil:
		outcome = outcomeError
	case ev.Refusal:
		outcome = outcomeRefused
	}
	m.questions.WithLabelValues(outcome, mode).Inc()
	m.latency.WithLabelValues(mode).Observe(ev.Duration.Seconds())
	if ev.Fallback {
		m.fallbacks.Inc()
	}
	if ev.PromptTokens > 0 {
		m.tokens.WithLabelValues("prompt").Add(float64(ev.PromptTokens))
	}
	if ev.CompletionTokens > 0 {
		m.tokens.WithLabelValues("completion").Add(float64(ev.CompletionTokens))
	}
}

// discordError counts a failed Discord REST attempt (bot.Config.OnDiscordError).
func (m *metrics) discordError(op string, status int) {
	m.discordErrs.WithLabelValues(op, statusClass(status)).Inc()
}

// statusClass groups HTTP statuses for a label: rate limits apart from
// other client errors, since they call for different action.
func statusClass(status int) string {
	switch {
	case status == 0:
		return "network"
	case status == http.StatusTooManyRequests:
		return "429"
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	}
	return "other"
}

// interaction counts an interaction received (bot.Config.OnInteraction).
func (m *metrics) interaction(kind string) { m.interactions.WithLabelValues(kind).Inc() }

// gatewayConnected exports connected as parley_discord_gateway_connected.
func (m *metrics) gatewayConnected(connected func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "parley_discord_gateway_connected",
		Help: "1 while the Discord gateway connection is up, else 0.",
	}, func() float64 {
		if connected() {
			return 1
		}
		return 0
	}))
}

// embeddings exports the store's embedding counts: passages embedded and
// searches that fell back to full text because the endpoint failed.
func (m *metrics) embeddings(stats func() knowledge.EmbeddingStats) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_passages_embedded_total",
			Help: "Passages embedded since start-up.",
		}, func() float64 { return float64(stats().Embedded) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_embedding_fallbacks_total",
			Help: "Searches that went on with full text alone because embedding the question failed.",
		}, func() float64 { return float64(stats().Fallbacks) }),
	)
}

// healthCheck is one thing /healthz checks: nil when it is fine, else an
// error saying what is wrong.
type healthCheck struct {
	name  string
	check func(ctx context.Context) error
}

// newOpsHandler serves GET /healthz and GET /metrics. /healthz answers 200
// "ok" when every check passes within healthTimeout, else 503 with the
// first failing check's name and error; /metrics is m in Prometheus' text
// format.
func newOpsHandler(m *metrics, log *slog.Logger, checks ...healthCheck) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		for _, c := range checks {
			if err := c.check(ctx); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "%s: %v\n", c.name, err)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError),
	}))
	return mux
}

// errNotConnected is the gateway check's failure.
var errNotConnected = errors.New("gateway not connected")

// gatewayCheck fails while connected reports false.
func gatewayCheck(connected func() bool) healthCheck {
	return healthCheck{name: "discord", check: func(context.Context) error {
		if !connected() {
			return errNotConnected
		}
		return nil
	}}
}

// storeCheck fails when the store does not answer a one-row query.
func storeCheck(store *knowledge.Store) healthCheck {
	return healthCheck{name: "store", check: func(ctx context.Context) error {
		_, _, err := store.List(ctx, knowledge.ListOptions{Limit: 1})
		return err
	}}
}

// startOps listens on addr and serves h until the returned stop is called;
// stop shuts the server down gracefully, within opsShutdownTimeout. An
// address that cannot be listened on is an error naming PARLEY_HTTP_ADDR.
func startOps(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: cannot listen: %w", envHTTPAddr, addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: opsReadHeaderTimeout,
		ReadTimeout:       opsReadTimeout,
		WriteTimeout:      opsWriteTimeout,
		IdleTimeout:       opsIdleTimeout,
		MaxHeaderBytes:    opsMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			// The bot serves on without its listener: losing the metrics
			// is no reason to stop answering.
			log.Error("operations listener failed", slog.String(keyErr, err.Error()))
		}
	}()
	log.Info("operations listener started", slog.String(keyAddr, ln.Addr().String()))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), opsShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	}, nil
}
