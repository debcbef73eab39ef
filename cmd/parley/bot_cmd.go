package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"parley/bot"
	"parley/knowledge"
)

func cmdBot(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("bot", "[--db PATH]",
		"Run the Discord bot until interrupted (SIGINT or SIGTERM), then finish or interrupt\n"+
			"the answers in flight and exit.\n\n"+
			"Environment:\n"+
			"  DISCORD_TOKEN           the bot token (required)\n"+
			"  PARLEY_GUILD_ID         register the commands in this server only (they appear at once)\n"+
			"  PARLEY_MOD_ROLES        comma-separated role ids allowed to use /source and /gaps\n"+
			"                          (besides members with Manage Messages)\n"+
			"  PARLEY_MESSAGE_CONTENT  on: request the privileged Message Content intent, so every\n"+
			"                          message in a bot thread is a follow-up (default off)\n"+
			"  PARLEY_COOLDOWN         time between one user's questions (default 10s; 0 turns it off)\n"+
			"  PARLEY_MAX_CONCURRENT   answers worked on at once (default 4)\n"+
			"  PARLEY_LOG_FORMAT       text (default) or json\n"+
			"  PARLEY_LOG_LEVEL        debug, info (default), warn or error\n"+
			"  PARLEY_HTTP_ADDR        HOST:PORT for /healthz and /metrics, e.g. 127.0.0.1:9090 (default off)\n"+
			"  OPENAI_BASE_URL, OPENAI_API_KEY, PARLEY_MODEL, PARLEY_ANSWER_TIMEOUT, PARLEY_PROMPTS\n"+
			"                          the language model, as for 'parley ask'; without one, answers\n"+
			"                          are extractive")
	db := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("unexpected argument %q", pos[0])
	}
	return a.runBot(ctx, *db, nil)
}

// runBot runs the bot over the store named by dbFlag (or the environment)
// until ctx ends, with the operations listener beside it when
// PARLEY_HTTP_ADDR is set; the listener stops when the bot has. adjust,
// if not nil, changes the bot's configuration last: tests point it at a
// fake Discord. Configuration errors name the variable.
func (a *app) runBot(ctx context.Context, dbFlag string, adjust func(*bot.Config)) error {
	log, err := a.newLogger()
	if err != nil {
		return err
	}
	cfg, err := a.botConfig(log)
	if err != nil {
		return err
	}
	addr, err := a.opsAddr()
	if err != nil {
		return err
	}
	store, err := a.openStore(ctx, dbFlag, knowledge.WithLogger(log))
	if err != nil {
		return err
	}
	defer store.Close()
	log.Info("store open", slog.String(keyStore, store.Path()))
	if model := store.EmbeddingModel(); model != "" {
		// New sources are embedded in the background; until then search
		// uses full text for them.
		embedCtx, stopEmbed := context.WithCancel(ctx)
		embedDone := make(chan struct{})
		go func() { defer close(embedDone); store.RunEmbedder(embedCtx) }()
		defer func() { stopEmbed(); <-embedDone }()
		log.Info("embeddings on", slog.String("model", model))
	}
	var m *metrics
	if addr != "" {
		m = newMetrics()
		cfg.OnDiscordError, cfg.OnInteraction = m.discordError, m.interaction
	}
	// Fall back to extractive answers when the model fails: a user on
	// Discord is better served by quoted sources than by an apology.
	answerer, err := a.newAnswerer(store, "", true, func(o *knowledge.AnswererOptions) {
		o.Log = log
		if m != nil {
			m.instrument(o)
		}
	})
	if err != nil {
		return err
	}
	if adjust != nil {
		adjust(&cfg)
	}
	b, err := bot.New(cfg, bot.Deps{Answerer: answerer, Sources: store, Fetcher: a.fetcher})
	if err != nil {
		return err
	}
	if addr != "" {
		m.gatewayConnected(b.Connected)
		if store.EmbeddingModel() != "" {
			m.embeddings(store.EmbeddingStats)
		}
		stop, err := startOps(addr, newOpsHandler(m, log, storeCheck(store), gatewayCheck(b.Connected)), log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return b.Run(ctx)
}

// botConfig reads the bot's settings from the environment; the bot logs to
// log. Errors name the variable.
func (a *app) botConfig(log *slog.Logger) (bot.Config, error) {
	cfg := bot.Config{Logger: log, Now: a.now}
	token := strings.TrimSpace(a.getenv("DISCORD_TOKEN"))
	token = strings.TrimPrefix(token, "Bot ")
	if token == "" {
		return cfg, fmt.Errorf("DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications and put its token in DISCORD_TOKEN")
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return cfg, fmt.Errorf("DISCORD_TOKEN contains whitespace: paste the token alone")
	}
	cfg.Token = token
	if g := strings.TrimSpace(a.getenv("PARLEY_GUILD_ID")); g != "" {
		if !isSnowflake(g) {
			return cfg, fmt.Errorf("PARLEY_GUILD_ID=%q: want a server id (a number; enable Developer Mode and use Copy Server ID)", g)
		}
		cfg.GuildID = g
	}
	for _, r := range strings.Split(a.getenv("PARLEY_MOD_ROLES"), ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !isSnowflake(r) {
			return cfg, fmt.Errorf("PARLEY_MOD_ROLES: %q is not a role id (want comma-separated numbers)", r)
		}
		cfg.ModRoleIDs = append(cfg.ModRoleIDs, r)
	}
	var err error
	if cfg.MessageContent, err = envBool(a.getenv, "PARLEY_MESSAGE_CONTENT", false); err != nil {
		return cfg, err
	}
	if v := strings.TrimSpace(a.getenv("PARLEY_COOLDOWN")); v != "" {
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 || d > 24*time.Hour {
			return cfg, fmt.Errorf("PARLEY_COOLDOWN=%q: want a duration such as 10s, or 0 for none", v)
		}
		cfg.Cooldown = d
		if d == 0 {
			cfg.Cooldown = -1 // bot.Config: negative turns the cooldown off
		}
	}
	if v := strings.TrimSpace(a.getenv("PARLEY_MAX_CONCURRENT")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return cfg, fmt.Errorf("PARLEY_MAX_CONCURRENT=%q: want a number from 1 to 64", v)
		}
		cfg.MaxConcurrent = n
	}
	if v := strings.TrimSpace(a.getenv("PARLEY_ANSWER_TIMEOUT")); v != "" {
		// Validated by readModelConfig. The bot's bound covers waiting for
		// a free slot as well, hence the margin; bot.New caps it below the
		// interaction token's life.
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			cfg.AnswerTimeout = d + 30*time.Second
		}
	}
	return cfg, nil
}

// isSnowflake reports whether s looks like a Discord id.
func isSnowflake(s string) bool {
	if len(s) < 5 || len(s) > 20 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}
