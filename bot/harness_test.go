package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"parley/bot/discordtest"
	"parley/knowledge"
	"parley/knowledge/webpage"
)

const testToken = "test-bot-token-do-not-log"

// testBot is a Bot running against a fake Discord, with a real store.
type testBot struct {
	t     *testing.T
	fake  *discordtest.Server
	bot   *Bot
	store *knowledge.Store
	ans   *fakeAnswerer // nil when the test supplied its own Answerer
	logs  *discordtest.LogBuffer

	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	runErr   error
}

// setup is what an option may change before the bot starts.
type setup struct {
	cfg  *Config
	deps *Deps
	fake *discordtest.Server
}

type option func(*setup)

func withConfig(f func(*Config)) option { return func(s *setup) { f(s.cfg) } }

func withAnswerer(a Answerer) option { return func(s *setup) { s.deps.Answerer = a } }

// startBot runs a Bot against a new fake Discord and waits until its
// commands are registered. When the test ends it stops the bot and checks
// what every test must hold: Run returned nil, every write carried empty
// allowed_mentions, no request went to an unknown route and no secret
// reached the log.
func startBot(t *testing.T, opts ...option) *testBot {
	t.Helper()
	fake := discordtest.New(t)
	store := openStore(t)
	logs := &discordtest.LogBuffer{}
	fa := newFakeAnswerer(echoAnswer)
	cfg := Config{
		Token:          testToken,
		GuildID:        discordtest.DefaultGuildID,
		Cooldown:       -1,
		StreamInterval: 100 * time.Millisecond,
		ShutdownGrace:  200 * time.Millisecond,
		HTTPClient:     fake.HTTPClient(),
		Dialer:         fake.Dialer(),
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	deps := Deps{Answerer: fa, Sources: store, Fetcher: fakeFetcher{}}
	for _, o := range opts {
		o(&setup{cfg: &cfg, deps: &deps, fake: fake})
	}
	tb := &testBot{t: t, fake: fake, store: store, logs: logs, done: make(chan error, 1)}
	if deps.Answerer == Answerer(fa) {
		tb.ans = fa
	}
	b, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tb.bot = b
	ctx, cancel := context.WithCancel(context.Background())
	tb.cancel = cancel
	go func() { tb.done <- b.Run(ctx) }()
	t.Cleanup(func() { tb.stop() })
	tb.waitFor("commands registered", func(reqs []discordtest.Request) bool {
		return len(discordtest.Filter(reqs, http.MethodPut, "/applications/")) > 0
	})
	return tb
}

// stop cancels Run's context and waits for it; it reports how long Run
// took to return. Later calls return at once.
func (tb *testBot) stop() time.Duration {
	t := tb.t
	var took time.Duration
	tb.stopOnce.Do(func() {
		start := time.Now()
		tb.cancel()
		select {
		case tb.runErr = <-tb.done:
			took = time.Since(start)
			if tb.runErr != nil {
				t.Errorf("Run returned %v, want nil", tb.runErr)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return within 20s of cancellation")
		}
		checkWrites(t, tb.fake.Requests())
		if u := tb.fake.UnknownRequests(); len(u) > 0 {
			t.Errorf("requests to unknown routes: %v", u)
		}
		logs := tb.logs.String()
		for _, secret := range []string{testToken, "itoken-"} {
			if strings.Contains(logs, secret) {
				t.Errorf("log contains %q:\n%s", secret, logs)
			}
		}
	})
	return took
}

// messageWrite matches the REST paths that create or edit messages.
var messageWrite = regexp.MustCompile(`^/(interactions/[^/]+/[^/]+/callback|webhooks/[^/]+/[^/]+(/messages/[^/]+)?|channels/[^/]+/messages(/[^/]+)?)$`)

// checkWrites fails the test for any message write without allowed_mentions
// carrying an empty parse list.
func checkWrites(t *testing.T, reqs []discordtest.Request) {
	t.Helper()
	for _, r := range reqs {
		if (r.Method != http.MethodPost && r.Method != http.MethodPatch) || !messageWrite.MatchString(r.Path) {
			continue
		}
		if present, empty := r.AllowedMentionsEmpty(); !present || !empty {
			t.Errorf("write without allowed_mentions parse []: %v", r)
		}
	}
}

const waitTimeout = 15 * time.Second

// waitFor waits until cond holds for the request log.
func (tb *testBot) waitFor(what string, cond func([]discordtest.Request) bool) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := tb.fake.WaitFor(ctx, cond); err != nil {
		tb.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// waitUntil waits until cond holds, checking after every request.
func (tb *testBot) waitUntil(what string, cond func() bool) {
	tb.t.Helper()
	tb.waitFor(what, func([]discordtest.Request) bool { return cond() })
}

// ack returns the interaction's first callback, waiting for it.
func (tb *testBot) ack(token string) discordtest.Callback {
	tb.t.Helper()
	tb.waitUntil("a callback", func() bool { return len(tb.fake.Callbacks(token)) > 0 })
	cb := tb.fake.Callbacks(token)[0]
	if cb.Request.Status != http.StatusNoContent {
		tb.t.Fatalf("callback answered %d, want 204 (acknowledged in time): %v", cb.Request.Status, cb.Request)
	}
	return cb
}

// privateReply waits for the interaction's single callback and checks it
// is an ephemeral message; it returns the text.
func (tb *testBot) privateReply(token string) string {
	tb.t.Helper()
	cb := tb.ack(token)
	if cb.Type != discordgo.InteractionResponseChannelMessageWithSource || cb.Flags&discordgo.MessageFlagsEphemeral == 0 {
		tb.t.Fatalf("callback type %d flags %d, want an ephemeral message (4, flag 64): %q", cb.Type, cb.Flags, cb.Content)
	}
	return cb.Content
}

// deferredReply waits for a deferred (type 5) acknowledgement and then for
// @original to be edited; it returns the final message.
func (tb *testBot) deferredReply(token string, ephemeral bool) discordtest.Message {
	tb.t.Helper()
	cb := tb.ack(token)
	if cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		tb.t.Fatalf("callback type %d (%q), want 5 (deferred)", cb.Type, cb.Content)
	}
	if got := cb.Flags&discordgo.MessageFlagsEphemeral != 0; got != ephemeral {
		tb.t.Fatalf("deferred ephemeral = %v, want %v", got, ephemeral)
	}
	tb.waitUntil("@original edited", func() bool {
		m, ok := tb.fake.Original(token)
		return ok && !m.Deferred && !strings.Contains(m.Content, markWriting)
	})
	m, _ := tb.fake.Original(token)
	if m.Ephemeral() != ephemeral {
		tb.t.Errorf("@original ephemeral = %v, want %v", m.Ephemeral(), ephemeral)
	}
	return m
}

// answered waits until the interaction's answer is complete (its last
// message carries the feedback buttons) and returns @original and the
// follow-ups.
func (tb *testBot) answered(token string) (discordtest.Message, []discordtest.Message) {
	tb.t.Helper()
	tb.waitUntil("the answer with buttons", func() bool {
		if m, ok := tb.fake.Original(token); ok && len(m.Components) > 0 {
			return true
		}
		for _, f := range tb.fake.Followups(token) {
			if len(f.Components) > 0 {
				return true
			}
		}
		return false
	})
	m, _ := tb.fake.Original(token)
	return m, tb.fake.Followups(token)
}

func ask(question string, opts ...discordtest.InteractionOption) *discordgo.Interaction {
	return discordtest.SlashCommand(cmdAsk, append([]discordtest.InteractionOption{
		discordtest.Options(discordtest.String(optQuestion, question))}, opts...)...)
}

func source(sub string, opts ...*discordgo.ApplicationCommandInteractionDataOption) discordtest.InteractionOption {
	return discordtest.Options(discordtest.Subcommand(sub, opts...))
}

func byUser(id string, perms int64, roles ...string) discordtest.InteractionOption {
	return discordtest.ByMember(discordtest.Member(id, perms, roles...))
}

func openStore(t *testing.T) *knowledge.Store {
	t.Helper()
	s, err := knowledge.Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// addArticle stores an article and returns its id.
func addArticle(t *testing.T, s *knowledge.Store, title, url, text string) int64 {
	t.Helper()
	res, err := s.Add(context.Background(), knowledge.NewArticle{
		Title: title, URL: url, Outlet: "Test Desk", PublishedAt: day(2025, 3, 8), Text: text, AddedBy: "test",
	})
	if err != nil {
		t.Fatalf("add article: %v", err)
	}
	return res.Article.ID
}

// fakeAnswerer is a hand-written Answerer whose behaviour is a function.
type fakeAnswerer struct {
	extractive bool
	fn         func(ctx context.Context, q knowledge.Question) (knowledge.Answer, error)

	mu sync.Mutex
	qs []knowledge.Question
}

func newFakeAnswerer(fn func(ctx context.Context, q knowledge.Question) (knowledge.Answer, error)) *fakeAnswerer {
	return &fakeAnswerer{extractive: true, fn: fn}
}

func (f *fakeAnswerer) Answer(ctx context.Context, q knowledge.Question) (knowledge.Answer, error) {
	rec := q
	rec.OnDelta = nil
	f.mu.Lock()
	f.qs = append(f.qs, rec)
	f.mu.Unlock()
	return f.fn(ctx, q)
}

func (f *fakeAnswerer) Extractive() bool { return f.extractive }

func (f *fakeAnswerer) questions() []knowledge.Question {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]knowledge.Question(nil), f.qs...)
}

var testCitation = knowledge.Citation{
	N: 1, ArticleID: 1, Title: "Talks resume in Doha", Outlet: "Test Desk",
	URL: "https://example.com/news/talks-resume", PublishedAt: day(2025, 3, 8),
}

// echoAnswer answers extractively with the question, one citation and
// answer id 7.
func echoAnswer(_ context.Context, q knowledge.Question) (knowledge.Answer, error) {
	return knowledge.Answer{
		ID: 7, Question: q.Text, Text: "You asked: " + q.Text + " [1]",
		Citations: []knowledge.Citation{testCitation}, AsOf: testCitation.PublishedAt, Extractive: true,
	}, nil
}

// fakeFetcher serves one page for any URL, and refuses loopback hosts as
// the real fetcher does.
type fakeFetcher struct{}

func (fakeFetcher) Fetch(_ context.Context, rawURL string) (*webpage.Page, error) {
	if strings.Contains(rawURL, "127.0.0.1") || strings.Contains(rawURL, "localhost") {
		return nil, fmt.Errorf("%w: %s", webpage.ErrForbiddenHost, rawURL)
	}
	return &webpage.Page{
		URL: rawURL, Title: "Mediators meet in Cairo", SiteName: "Example News", Published: day(2025, 3, 9),
		Text: "Mediators from Egypt and Qatar met negotiators in Cairo on Tuesday.\n\nThey discussed a phased exchange of hostages and prisoners.",
	}, nil
}

// bodyContent returns the "content" of a request body (top level, or inside
// "data" for callbacks).
func bodyContent(r discordtest.Request) string {
	var body struct {
		Content string `json:"content"`
		Data    struct {
			Content string `json:"content"`
		} `json:"data"`
	}
	if r.JSON(&body) != nil {
		return ""
	}
	if body.Content != "" {
		return body.Content
	}
	return body.Data.Content
}

// buttonIDs lists the custom ids of the buttons in comps.
func buttonIDs(comps []discordgo.MessageComponent) []string {
	var out []string
	for _, c := range comps {
		switch c := c.(type) {
		case *discordgo.ActionsRow:
			out = append(out, buttonIDs(c.Components)...)
		case discordgo.ActionsRow:
			out = append(out, buttonIDs(c.Components)...)
		case *discordgo.Button:
			out = append(out, c.CustomID)
		case discordgo.Button:
			out = append(out, c.CustomID)
		}
	}
	return out
}
