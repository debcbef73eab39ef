// Package bot is Parley's Discord front end: the /ask, /source and /gaps
// application commands, answers to mentions in threads, and feedback
// buttons. It turns the knowledge package's answers into Discord messages
// and its errors into words for Discord users; it never touches SQL or the
// language model itself, only the small interfaces declared here.
//
// Gateway intents: Guilds, GuildMessages and DirectMessages by default,
// none of them privileged. The Message Content intent is requested only when
// Config.MessageContent is set: with it, every message in a thread the bot
// started is a follow-up question; without it Discord shows the bot only the
// text of messages that mention it or reply to it, so only those are.
//
// Every message the bot writes carries allowed_mentions with an empty parse
// list, so nothing a user or an article says can ping anyone.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"parley/knowledge"
)

// Answerer answers questions from the curated sources.
// *knowledge.Answerer implements it.
type Answerer interface {
	Answer(ctx context.Context, q knowledge.Question) (knowledge.Answer, error)
	// Extractive reports whether answers are assembled without a model
	// (and so never stream).
	Extractive() bool
}

// Sources is the store of curated articles and recorded answers as the bot
// uses it. *knowledge.Store implements it.
type Sources interface {
	AddURL(ctx context.Context, f knowledge.PageFetcher, rawURL, addedBy string) (knowledge.AddResult, error)
	Add(ctx context.Context, in knowledge.NewArticle) (knowledge.AddResult, error)
	List(ctx context.Context, opt knowledge.ListOptions) ([]knowledge.Article, int, error)
	Get(ctx context.Context, id int64) (knowledge.Article, error)
	Remove(ctx context.Context, id int64, actor string) (knowledge.Article, error)
	Changes(ctx context.Context, limit int) ([]knowledge.Change, error)
	RecordFeedback(ctx context.Context, answerID int64, voter string, v knowledge.Vote) error
	Gaps(ctx context.Context, limit int) ([]knowledge.Gap, error)
}

var (
	_ Answerer = (*knowledge.Answerer)(nil)
	_ Sources  = (*knowledge.Store)(nil)
)

// Defaults for the zero values of Config.
const (
	DefaultCooldown       = 10 * time.Second
	DefaultMaxConcurrent  = 4
	DefaultMaxQueued      = 16
	DefaultAnswerTimeout  = 2 * time.Minute
	DefaultStreamInterval = time.Second
	DefaultShutdownGrace  = 2 * time.Second
	// MaxAnswerTimeout caps AnswerTimeout well below the 15 minutes an
	// interaction token lives, leaving time to deliver the answer.
	MaxAnswerTimeout = 12 * time.Minute
)

// Config configures a Bot. Zero values mean the defaults above.
type Config struct {
	// Token is the bot token, without the "Bot " prefix. Required.
	Token string
	// GuildID, when set, registers the commands in that guild only (they
	// appear at once); otherwise they are registered globally.
	GuildID string
	// ModRoleIDs are role ids whose holders may use /source and /gaps, in
	// addition to members with Manage Messages or Administrator.
	ModRoleIDs []string
	// MessageContent requests the privileged Message Content intent, so that
	// every message in a bot thread is a follow-up, not only mentions and
	// replies.
	MessageContent bool
	// Cooldown is the time a user waits between questions; negative
	// disables it.
	Cooldown time.Duration
	// MaxConcurrent bounds the answers being worked on at once.
	MaxConcurrent int
	// MaxQueued bounds the questions waiting for one of those slots; more
	// are told politely that Parley is busy. Negative means no queue.
	MaxQueued int
	// MaxQuestion is the longest question accepted, in characters; default
	// knowledge.MaxQuestionRunes.
	MaxQuestion int
	// AnswerTimeout bounds one answer, queueing included; at most
	// MaxAnswerTimeout.
	AnswerTimeout time.Duration
	// StreamInterval is the least time between two edits of a streaming
	// answer.
	StreamInterval time.Duration
	// ShutdownGrace is how long Run lets in-flight answers finish after its
	// context ends before interrupting them.
	ShutdownGrace time.Duration
	// HTTPClient makes the REST calls. Nil means a client that honours
	// HTTPS_PROXY and NO_PROXY and the system's trust store.
	HTTPClient *http.Client
	// Dialer dials the gateway websocket. Nil means one that honours the
	// proxy environment.
	Dialer *websocket.Dialer
	// Logger receives operational logs; nil discards them. Tokens and
	// message contents are never logged.
	Logger *slog.Logger
	// Now is the clock for cooldowns; nil means time.Now.
	Now func() time.Time
	// OnInteraction, when set, is called for every interaction received,
	// from discordgo's event goroutine, with its kind: a command name
	// ("ask", "source", "gaps"), "unknown" for a command Parley no longer
	// has, "feedback" for a button, "modal" for a submitted form. It is
	// meant for metrics and must return quickly.
	OnInteraction func(kind string)
	// OnDiscordError, when set, is called after every failed Discord REST
	// attempt, retried ones included, with the operation (one of a small
	// fixed set, such as "edit_response" or "followup") and the HTTP status:
	// 429 for a rate limit, 0 when no response came in time. Attempts that
	// fail because the bot cancelled them are not reported. It is meant for
	// metrics and must return quickly.
	OnDiscordError func(op string, status int)
}

// Deps are the domain services the bot calls.
type Deps struct {
	Answerer Answerer
	Sources  Sources
	// Fetcher fetches pages for /source add; nil disables adding by URL.
	Fetcher knowledge.PageFetcher
}

// Bot is a Discord bot serving Parley. Create it with New and start it with
// Run; a Bot runs once.
type Bot struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	sess *discordgo.Session

	limit     *limiter
	cooldowns *cooldowns
	convs     *conversations

	// work is the parent of every answer's context: it outlives Run's
	// context by ShutdownGrace, so answers can finish or be interrupted
	// with a note.
	work     context.Context
	stopWork context.CancelFunc

	mu      sync.Mutex
	started bool
	closing bool
	wg      sync.WaitGroup // handlers and answers in flight

	gwMu   sync.Mutex
	gwConn net.Conn // the latest raw gateway connection, to unblock Open

	connected atomic.Bool // the last value Connected read
}

// Logging attribute keys.
const (
	keyErr      = "error"
	keyUser     = "user"
	keyGuild    = "guild"
	keyChannel  = "channel"
	keyCommand  = "command"
	keyAnswerID = "answer_id"
	keyElapsed  = "elapsed"
	keyAttempt  = "attempt"
	keyOp       = "op"
	keyRetryIn  = "retry_in"
	keyBotUser  = "bot_user"
	keyScope    = "scope"
	keyCount    = "count"
	keyArticle  = "article"
	keyCreated  = "created"
	keyRefusal  = "refusal"
	keyMessages = "messages"

	keyExtractive     = "extractive"
	keyMessageContent = "message_content"
)

// New checks cfg and returns a Bot that has not connected yet. It returns
// an error for a missing token, answerer or store.
func New(cfg Config, deps Deps) (*Bot, error) {
	if cfg.Token == "" {
		return nil, errors.New("bot: no Discord token")
	}
	if deps.Answerer == nil || deps.Sources == nil {
		return nil, errors.New("bot: an Answerer and Sources are required")
	}
	switch {
	case cfg.Cooldown == 0:
		cfg.Cooldown = DefaultCooldown
	case cfg.Cooldown < 0:
		cfg.Cooldown = 0
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	switch {
	case cfg.MaxQueued == 0:
		cfg.MaxQueued = DefaultMaxQueued
	case cfg.MaxQueued < 0:
		cfg.MaxQueued = 0
	}
	if cfg.MaxQuestion <= 0 {
		cfg.MaxQuestion = knowledge.MaxQuestionRunes
	}
	if cfg.AnswerTimeout <= 0 {
		cfg.AnswerTimeout = DefaultAnswerTimeout
	}
	cfg.AnswerTimeout = min(cfg.AnswerTimeout, MaxAnswerTimeout)
	if cfg.StreamInterval <= 0 {
		cfg.StreamInterval = DefaultStreamInterval
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.HTTPClient == nil {
		// DefaultTransport reads HTTPS_PROXY/NO_PROXY and uses the system
		// roots; a clone keeps our settings off the shared instance.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
		cfg.HTTPClient = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	if cfg.Dialer == nil {
		d := *websocket.DefaultDialer // Proxy: http.ProxyFromEnvironment
		d.HandshakeTimeout = 20 * time.Second
		cfg.Dialer = &d
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	sess, err := discordgo.New("Bot " + cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("bot: %w", err)
	}
	b := &Bot{
		cfg:       cfg,
		deps:      deps,
		log:       cfg.Logger,
		sess:      sess,
		limit:     newLimiter(cfg.MaxConcurrent, cfg.MaxQueued),
		cooldowns: newCooldowns(cfg.Cooldown),
		convs:     newConversations(maxConversations, maxTurns),
	}
	sess.Client = cfg.HTTPClient
	sess.Dialer = b.trackingDialer(cfg.Dialer)
	// discordgo retries 429s without bound, sleeping through any context,
	// and 502s at once; every call here is retried by retryCall instead.
	sess.ShouldRetryOnRateLimit = false
	sess.MaxRestRetries = 0
	sess.Identify.Intents = intents(cfg.MessageContent)
	// The bot needs only its own user from the state cache.
	sess.State.TrackChannels = false
	sess.State.TrackEmojis = false
	sess.State.TrackStickers = false
	sess.State.TrackMembers = false
	sess.State.TrackRoles = false
	sess.State.TrackVoice = false
	sess.State.TrackPresences = false
	sess.State.TrackThreads = false
	sess.State.TrackThreadMembers = false
	sess.AddHandler(b.onInteraction)
	sess.AddHandler(b.onMessage)
	return b, nil
}

// Connected reports whether the gateway connection is up: READY or RESUMED
// received and not closed or dropped since. It is false before Run
// connects, after Run returns, and while discordgo fails to reconnect; a
// reconnection that works at once may not show. Answers in flight do not
// need the gateway (they go over REST), but no new questions arrive
// without it.
func (b *Bot) Connected() bool {
	// discordgo keeps this in Session.DataReady, under the session's lock,
	// which it holds through a connection's handshake and for the second
	// it sleeps while closing one: rather than wait, say what was last
	// seen.
	if b.sess.TryRLock() {
		up := b.sess.DataReady
		b.sess.RUnlock()
		b.connected.Store(up)
		return up
	}
	return b.connected.Load()
}

// intents are the gateway intents the bot asks for: none privileged unless
// messageContent.
func intents(messageContent bool) discordgo.Intent {
	in := discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages
	if messageContent {
		in |= discordgo.IntentMessageContent
	}
	return in
}

// Run connects to Discord, registers the commands and serves until ctx
// ends. It then stops taking new work, gives answers in flight
// ShutdownGrace to finish, interrupts the rest (editing them to a short
// note), closes the session and returns nil. It returns an error when the
// token is rejected or the bot has no access to the configured guild; other
// failures to register the commands are logged, and the bot serves on.
func (b *Bot) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.started {
		b.mu.Unlock()
		return errors.New("bot: Run called twice")
	}
	b.started = true
	b.mu.Unlock()
	b.work, b.stopWork = context.WithCancel(context.WithoutCancel(ctx))
	defer b.stopWork()

	if err := b.open(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := b.registerCommands(ctx); err != nil {
		if ctx.Err() != nil {
			b.shutdown()
			return nil
		}
		var missing errMissingAccess
		if errors.As(err, &missing) {
			b.shutdown()
			return err
		}
		// Mentions still work, and commands registered by an earlier run
		// may still be there: serve rather than crash-loop.
		b.log.Error("commands not registered; slash commands may be missing or out of date", slog.String(keyErr, err.Error()))
	}
	b.log.Info("bot ready", slog.String(keyBotUser, b.botUserID()), slog.Bool(keyExtractive, b.deps.Answerer.Extractive()),
		slog.Bool(keyMessageContent, b.cfg.MessageContent))
	<-ctx.Done()
	b.log.Info("bot stopping")
	b.shutdown()
	b.log.Info("bot stopped")
	return nil
}

// open connects the gateway, retrying with backoff (a crash loop burns the
// daily IDENTIFY budget) until it works, ctx ends or the token is rejected.
func (b *Bot) open(ctx context.Context) error {
	backoff := 2 * time.Second
	for {
		err := b.openOnce(ctx)
		if err == nil {
			return nil
		}
		if authFailure(err) {
			return fmt.Errorf("bot: Discord rejected the token: %s", safeErr(err))
		}
		b.log.Warn("connecting to Discord failed; retrying", slog.String(keyErr, safeErr(err)), slog.Duration(keyRetryIn, backoff))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// openTimeout bounds one gateway handshake: discordgo's Open reads without
// a deadline, so a server that never sends READY would hang it.
const openTimeout = 30 * time.Second

func (b *Bot) openOnce(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- b.sess.Open() }()
	timer := time.NewTimer(openTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	case <-timer.C:
	}
	// Closing the raw connection makes Open's pending read fail.
	b.gwMu.Lock()
	if b.gwConn != nil {
		b.gwConn.Close()
	}
	b.gwMu.Unlock()
	if err := <-done; err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("bot: no READY from the gateway within " + openTimeout.String())
}

// trackingDialer returns a copy of d that remembers the last connection it
// made, so openOnce can abort a stuck handshake.
func (b *Bot) trackingDialer(d *websocket.Dialer) *websocket.Dialer {
	cp := *d
	track := func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err == nil {
				b.gwMu.Lock()
				b.gwConn = c
				b.gwMu.Unlock()
			}
			return c, err
		}
	}
	plain := cp.NetDialContext
	if plain == nil {
		var nd net.Dialer
		plain = nd.DialContext
	}
	cp.NetDialContext = track(plain)
	if cp.NetDialTLSContext != nil {
		cp.NetDialTLSContext = track(cp.NetDialTLSContext)
	}
	return &cp
}

func authFailure(err error) bool {
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code == 4004 {
		return true
	}
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized
}

// shutdown stops new work, waits up to ShutdownGrace for work in flight,
// interrupts what is left and closes the session.
func (b *Bot) shutdown() {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(b.cfg.ShutdownGrace):
		b.stopWork()
		select {
		case <-done:
		case <-time.After(interruptTimeout + time.Second):
			b.log.Warn("shutdown: some answers did not finish in time")
		}
	}
	b.stopWork()
	// discordgo's heartbeat goroutine may be about to reconnect; a closing
	// bot must not. The session lock orders this write before its read.
	b.sess.Lock()
	b.sess.ShouldReconnectOnError = false
	b.sess.Unlock()
	if err := b.sess.Close(); err != nil {
		b.log.Warn("closing the Discord session", slog.String(keyErr, safeErr(err)))
	}
	b.connected.Store(false)
}

// begin registers a unit of work (a handler or an answer) unless the bot
// is shutting down; end it with b.wg.Done.
func (b *Bot) begin() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing || !b.started {
		return false
	}
	b.wg.Add(1)
	return true
}

// botUserID is the bot's own user id, known from READY.
func (b *Bot) botUserID() string {
	b.sess.State.RLock()
	defer b.sess.State.RUnlock()
	if b.sess.State.User == nil {
		return ""
	}
	return b.sess.State.User.ID
}

// appID is the application id, known from READY; Discord makes it the bot
// user's id for bots.
func (b *Bot) appID() string {
	b.sess.State.RLock()
	defer b.sess.State.RUnlock()
	if app := b.sess.State.Application; app != nil && app.ID != "" {
		return app.ID
	}
	if b.sess.State.User != nil {
		return b.sess.State.User.ID
	}
	return ""
}

// errMissingAccess means the bot may not register commands in the guild:
// it is not a member, or was invited without the applications.commands
// scope.
type errMissingAccess struct{ guild string }

func (e errMissingAccess) Error() string {
	return "bot: no access to guild " + e.guild + ": check the guild id, and that the bot was invited to it with the bot and applications.commands scopes"
}

// registerCommands replaces the application's commands with Parley's, in
// the configured guild or globally.
func (b *Bot) registerCommands(ctx context.Context) error {
	app := b.appID()
	if app == "" {
		return errors.New("bot: READY carried no application id")
	}
	cmds := commandDefinitions(b.cfg.MaxQuestion)
	err := b.retryCall(ctx, opRegister, func(opts ...discordgo.RequestOption) error {
		_, err := b.sess.ApplicationCommandBulkOverwrite(app, b.cfg.GuildID, cmds, opts...)
		return err
	})
	if status, code := restCode(err); status == http.StatusForbidden && code == 50001 && b.cfg.GuildID != "" {
		return errMissingAccess{b.cfg.GuildID}
	}
	if err != nil {
		return fmt.Errorf("bot: registering commands: %s", safeErr(err))
	}
	scope := "global"
	if b.cfg.GuildID != "" {
		scope = "guild " + b.cfg.GuildID
	}
	b.log.Info("commands registered", slog.String(keyScope, scope), slog.Int(keyCount, len(cmds)))
	return nil
}
