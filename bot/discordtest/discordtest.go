// Package discordtest is an in-process fake of Discord: a gateway websocket and the part of the
// REST API Parley uses, served by an httptest server on loopback. It drives the real discordgo
// client, so bot tests exercise the same code paths as production.
//
// A test starts a Server with New, gets a *discordgo.Session wired to it with Session (or an
// *http.Client and websocket dialer for code that builds its own session), opens the session,
// and then plays the user's side: SendInteraction, MessageCreate, Dispatch. What the bot sent
// back is read from the request log (Requests, WaitFor) and from the message store (Original,
// Followups, Callbacks, Messages). Fault knobs (FailNext, SetLatency, DropConnections) inject
// rate limits, server errors, slow responses and gateway drops.
//
// The fake checks what real Discord checks where a bot could get it wrong: message and embed
// limits, empty messages, double acknowledgement, the acknowledgement deadline, edits of
// responses that do not exist, and application ids. It does not model permissions, rate limit
// buckets (only injected 429s), or event replay on RESUME.
package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// Defaults used by the builders and by New when no option overrides them.
const (
	DefaultGuildID   = "800000000000000001"
	DefaultChannelID = "800000000000000002"
	DefaultUserID    = "800000000000000003"
	DefaultBotID     = "900000000000000001"
	DefaultBotName   = "parley"
	// DefaultAckDeadline is Discord's limit for acknowledging an interaction.
	DefaultAckDeadline = 3 * time.Second
)

// discordEpoch is the first millisecond of 2015, the origin of Discord snowflakes.
const discordEpoch = 1420070400000

// Server is a fake Discord. All methods are safe for concurrent use.
type Server struct {
	tb   testing.TB
	cfg  config
	srv  *httptest.Server
	addr string // host:port of srv
	mux  *http.ServeMux
	done chan struct{} // closed when the server shuts down

	wsWG sync.WaitGroup // gateway connection handlers

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every state change
	closed       bool
	lastID       uint64
	seq          int64
	requests     []Request
	faults       []*fault
	latency      map[string]time.Duration
	conns        map[*gwConn]struct{}
	sessions     map[string]bool // gateway session ids handed out in READY
	identifies   []Identify
	stats        GatewayStats
	interactions map[string]*interactionState // by token
	messages     map[string]*Message          // by id
	order        []string                     // message ids in creation order
	threadOf     map[string]string            // message id -> thread id started from it
	channels     map[string]*discordgo.Channel
	commands     map[string][]*discordgo.ApplicationCommand // by guild id, "" = global
}

type config struct {
	heartbeat   time.Duration
	botID       string
	botName     string
	appID       string
	token       string
	ackDeadline time.Duration
	guilds      []string
}

// Option configures a Server.
type Option func(*config)

// WithHeartbeatInterval sets the heartbeat_interval sent in HELLO (default 1s). discordgo
// reconnects when five intervals pass without an ACK.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(c *config) { c.heartbeat = d }
}

// WithBotUser sets the bot user returned in READY and by GET /users/@me.
func WithBotUser(id, username string) Option {
	return func(c *config) { c.botID, c.botName = id, username }
}

// WithApplicationID sets the application id (default: the bot user id, as on Discord).
// Command and webhook routes for any other application id fail like Discord does.
func WithApplicationID(id string) Option {
	return func(c *config) { c.appID = id }
}

// WithToken makes the fake accept only this bot token (without the "Bot " prefix): REST
// calls with another Authorization get 401, and an IDENTIFY with another token is closed
// with code 4004. By default any token is accepted.
func WithToken(token string) Option {
	return func(c *config) { c.token = token }
}

// WithAckDeadline sets how long after SendInteraction a callback is still accepted (default
// DefaultAckDeadline); later callbacks get 404 "Unknown interaction" (code 10062).
// Zero disables the check.
func WithAckDeadline(d time.Duration) Option {
	return func(c *config) { c.ackDeadline = d }
}

// WithGuilds lists the guilds the bot is in: READY carries them as unavailable, and a
// GUILD_CREATE follows for each, with the channels added by AddChannel at that time.
func WithGuilds(ids ...string) Option {
	return func(c *config) { c.guilds = append(c.guilds, ids...) }
}

// New starts a fake Discord on a loopback port. It is shut down by t.Cleanup, after the
// sessions made by Session have been closed.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := config{
		heartbeat:   time.Second,
		botID:       DefaultBotID,
		botName:     DefaultBotName,
		ackDeadline: DefaultAckDeadline,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.appID == "" {
		cfg.appID = cfg.botID
	}
	s := &Server{
		tb:           t,
		cfg:          cfg,
		done:         make(chan struct{}),
		changed:      make(chan struct{}),
		lastID:       uint64(time.Now().UnixMilli()-discordEpoch) << 22,
		latency:      map[string]time.Duration{},
		conns:        map[*gwConn]struct{}{},
		sessions:     map[string]bool{},
		interactions: map[string]*interactionState{},
		messages:     map[string]*Message{},
		threadOf:     map[string]string{},
		channels:     map[string]*discordgo.Channel{},
		commands:     map[string][]*discordgo.ApplicationCommand{},
	}
	s.mux = s.routes()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.addr = s.srv.Listener.Addr().String()
	t.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	for c := range s.conns {
		c.ws.Close()
	}
	s.notifyLocked()
	s.mu.Unlock()
	s.srv.Close()
	s.wsWG.Wait()
}

// URL returns the fake's base URL, "http://127.0.0.1:PORT". The REST API is under
// URL()+"/api/v9/" (any /api/vN/ works).
func (s *Server) URL() string { return s.srv.URL }

// GatewayURL returns the websocket URL that GET /gateway hands out.
func (s *Server) GatewayURL() string { return "ws://" + s.addr + "/gateway" }

// AppID returns the application id.
func (s *Server) AppID() string { return s.cfg.appID }

// BotUser returns the bot's user, as sent in READY.
func (s *Server) BotUser() *discordgo.User {
	return &discordgo.User{ID: s.cfg.botID, Username: s.cfg.botName, Bot: true}
}

// Session returns a real, unopened discordgo session for "Bot "+token whose REST calls and
// gateway dials reach the fake. Calls to any non-Discord host fail the test. The session is
// closed by t.Cleanup before the server, with reconnection turned off; closing an open
// session takes discordgo one second.
func (s *Server) Session(token string) *discordgo.Session {
	s.tb.Helper()
	sess, err := discordgo.New("Bot " + token)
	if err != nil {
		s.tb.Fatalf("discordtest: discordgo.New: %v", err)
	}
	sess.Client = s.HTTPClient()
	sess.Dialer = s.Dialer()
	s.tb.Cleanup(func() {
		// discordgo's heartbeat can race Close and reconnect after the test; this stops that.
		// The lock orders the write before the read in discordgo's reconnect.
		sess.Lock()
		sess.ShouldReconnectOnError = false
		sess.Unlock()
		sess.Close()
	})
	return sess
}

// HTTPClient returns a client whose requests to discord.com, gateway.discord.gg and
// cdn.discordapp.com go to the fake; see Transport.
func (s *Server) HTTPClient() *http.Client {
	return &http.Client{Transport: s.Transport(), Timeout: 10 * time.Second}
}

// Transport returns a RoundTripper that sends requests for discord.com, gateway.discord.gg,
// cdn.discordapp.com and the fake itself to the fake, keeping the path. A request for any
// other host fails the test (t.Errorf) and returns an error.
func (s *Server) Transport() http.RoundTripper { return transport{s} }

// Dialer returns a websocket dialer that connects to the fake for the fake's own address and
// any *.discord.gg host (ws or wss: the TLS handshake is skipped), and fails the test for
// any other host.
func (s *Server) Dialer() *websocket.Dialer {
	return &websocket.Dialer{
		NetDialContext:    s.dialGateway,
		NetDialTLSContext: s.dialGateway,
		HandshakeTimeout:  5 * time.Second,
	}
}

type transport struct{ s *Server }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Host {
	case "discord.com", "gateway.discord.gg", "cdn.discordapp.com", t.s.addr:
	default:
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, t.s.refuse(fmt.Errorf("discordtest: refused %s request to non-Discord host %q", req.Method, req.URL.Host))
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = "http"
	out.URL.Host = t.s.addr
	out.Host = req.URL.Host
	return t.s.srv.Client().Transport.RoundTrip(out)
}

func (s *Server) dialGateway(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if addr != s.addr && host != "discord.gg" && !strings.HasSuffix(host, ".discord.gg") {
		return nil, s.refuse(fmt.Errorf("discordtest: refused websocket dial to non-Discord host %q", addr))
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.addr)
}

// refuse reports err as a test failure, unless the test is over, and returns it.
func (s *Server) refuse(err error) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed {
		s.tb.Errorf("%v", err)
	}
	return err
}

// newIDLocked returns a fresh snowflake, increasing and with a current timestamp.
func (s *Server) newIDLocked() string {
	s.lastID++
	return strconv.FormatUint(s.lastID, 10)
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneRequests(s.requests)
}

// UnknownRequests returns the logged requests that matched no route (answered 404).
func (s *Server) UnknownRequests() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Route == "" && !r.Injected && r.Status == http.StatusNotFound {
			out = append(out, r)
		}
	}
	return out
}

// WaitFor blocks until cond, called with a copy of the request log after each change, returns
// true, or ctx ends. It returns ctx's error in the latter case.
func (s *Server) WaitFor(ctx context.Context, cond func([]Request) bool) error {
	for {
		s.mu.Lock()
		reqs := cloneRequests(s.requests)
		ch := s.changed
		s.mu.Unlock()
		if cond(reqs) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("discordtest: WaitFor after %d requests: %w", len(reqs), ctx.Err())
		}
	}
}

// GatewayStats counts gateway activity since New.
type GatewayStats struct {
	Connections int // open connections that completed IDENTIFY or RESUME
	Identifies  int // IDENTIFY (op 2) payloads received
	Resumes     int // RESUME (op 6) payloads received
	Heartbeats  int // heartbeats (op 1) received, each answered with an ACK (op 11)
}

// GatewayStats returns the current gateway counters.
func (s *Server) GatewayStats() GatewayStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gatewayStatsLocked()
}

func (s *Server) gatewayStatsLocked() GatewayStats {
	st := s.stats
	for c := range s.conns {
		if c.ready {
			st.Connections++
		}
	}
	return st
}

// WaitGateway blocks until cond holds for the gateway counters or ctx ends.
func (s *Server) WaitGateway(ctx context.Context, cond func(GatewayStats) bool) error {
	for {
		s.mu.Lock()
		st := s.gatewayStatsLocked()
		ch := s.changed
		s.mu.Unlock()
		if cond(st) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("discordtest: WaitGateway at %+v: %w", st, ctx.Err())
		}
	}
}

// WaitConnected blocks until at least one gateway connection has been sent READY or RESUMED.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.WaitGateway(ctx, func(st GatewayStats) bool { return st.Connections > 0 })
}

// Identifies returns the IDENTIFY payloads received, oldest first.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.identifies)
}

// FailNext makes the next n requests whose method equals method (any method if "") and whose
// API path (as in Request.Path, e.g. "/channels/") starts with pathPrefix fail with status,
// without reaching the route. A 429 carries Discord's rate limit body (retry_after 0.05 s) and
// headers. Later calls queue behind earlier ones.
func (s *Server) FailNext(method, pathPrefix string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, prefix: pathPrefix, status: status, left: n})
}

// SetLatency delays every response whose API path starts with pathPrefix by d; d <= 0 removes
// the delay. When several prefixes match, the longest wins.
func (s *Server) SetLatency(pathPrefix string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.latency, pathPrefix)
		return
	}
	s.latency[pathPrefix] = d
}

type fault struct {
	method string
	prefix string
	status int
	left   int
}

func (s *Server) takeFault(method, path string) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.left > 0 && (f.method == "" || f.method == method) && strings.HasPrefix(path, f.prefix) {
			f.left--
			return f
		}
	}
	return nil
}

func (s *Server) latencyFor(path string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	best, d := -1, time.Duration(0)
	for p, l := range s.latency {
		if strings.HasPrefix(path, p) && len(p) > best {
			best, d = len(p), l
		}
	}
	return d
}

// AddChannel stores a channel for GET /channels/{id}, for guild lookups of messages sent to
// it, and for GUILD_CREATE.
func (s *Server) AddChannel(ch *discordgo.Channel) {
	c := *ch
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[c.ID] = &c
}

// Channel returns a copy of a stored channel: one added by AddChannel or a thread created
// through the fake (with ParentID and OwnerID set).
func (s *Server) Channel(id string) (*discordgo.Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return nil, false
	}
	cp := *c
	return &cp, true
}

// Threads returns copies of the threads created through the fake under parentID, oldest first.
func (s *Server) Threads(parentID string) []*discordgo.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*discordgo.Channel
	for _, c := range s.channels {
		if c.ParentID == parentID && c.IsThread() {
			cp := *c
			out = append(out, &cp)
		}
	}
	slices.SortFunc(out, func(a, b *discordgo.Channel) int { return compareIDs(a.ID, b.ID) })
	return out
}

// Commands returns copies of the application commands registered for guildID ("" for
// global ones), in registration order.
func (s *Server) Commands(guildID string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneCommands(s.commands[guildID])
}

func cloneCommands(in []*discordgo.ApplicationCommand) []*discordgo.ApplicationCommand {
	out := []*discordgo.ApplicationCommand{}
	for _, c := range in {
		var cp discordgo.ApplicationCommand
		b, _ := json.Marshal(c)
		if err := json.Unmarshal(b, &cp); err == nil {
			out = append(out, &cp)
		}
	}
	return out
}

// compareIDs orders snowflakes numerically; ids that are not numbers sort as strings.
func compareIDs(a, b string) int {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
