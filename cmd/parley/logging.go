package main

import (
	"fmt"
	"log/slog"
	"strings"
)

// Environment variables for the operational log.
const (
	envLogFormat = "PARLEY_LOG_FORMAT"
	envLogLevel  = "PARLEY_LOG_LEVEL"
)

// Logging attribute keys used by this package. (The bot and the knowledge
// package have their own, for what they log.)
const (
	keyErr   = "error"
	keyAddr  = "addr"
	keyStore = "store"
)

// newLogger returns the operational logger: text (the default) or JSON
// lines as PARLEY_LOG_FORMAT says, from the level PARLEY_LOG_LEVEL names
// (debug, info, warn or error; default info), written to standard error.
// Its error names the variable and the values it accepts.
//
// Nothing logged carries a secret: the bot never logs its token, scrubs
// interaction tokens from REST errors and URLs, and the model client
// scrubs its key from what it reports (TestBotLogsNoSecrets checks all
// three).
func (a *app) newLogger() (*slog.Logger, error) {
	var level slog.Level
	switch v := strings.ToLower(strings.TrimSpace(a.getenv(envLogLevel))); v {
	case "", "info":
		level = slog.LevelInfo
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("%s=%q: want debug, info, warn or error", envLogLevel, a.getenv(envLogLevel))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch v := strings.ToLower(strings.TrimSpace(a.getenv(envLogFormat))); v {
	case "", "text":
		return slog.New(slog.NewTextHandler(a.stderr, opts)), nil
	case "json":
		// Durations as "1.5s" rather than nanoseconds, as in text logs.
		opts.ReplaceAttr = func(_ []string, at slog.Attr) slog.Attr {
			if at.Value.Kind() == slog.KindDuration {
				at.Value = slog.StringValue(at.Value.Duration().String())
			}
			return at
		}
		return slog.New(slog.NewJSONHandler(a.stderr, opts)), nil
	default:
		return nil, fmt.Errorf("%s=%q: want text or json", envLogFormat, a.getenv(envLogFormat))
	}
}
