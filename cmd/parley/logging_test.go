package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/bot"
	"parley/bot/discordtest"
	"parley/knowledge/llm/llmtest"
	"parley/knowledge/webpage"
)

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		name, format, level string
		wantErr             string // a substring of the error; "" for none
		json, debug, info   bool   // what the logger writes
	}{
		{name: "defaults", info: true},
		{name: "json debug", format: "json", level: "debug", json: true, debug: true, info: true},
		{name: "text warn", format: "TEXT", level: "warn"},
		{name: "error", level: "error"},
		{name: "bad format", format: "yaml", wantErr: `PARLEY_LOG_FORMAT="yaml": want text or json`},
		{name: "bad level", level: "loud", wantErr: `PARLEY_LOG_LEVEL="loud": want debug, info, warn or error`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			env := map[string]string{envLogFormat: tc.format, envLogLevel: tc.level}
			a := &app{getenv: func(k string) string { return env[k] }, stderr: &out}
			log, err := a.newLogger()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("newLogger() error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("newLogger(): %v", err)
			}
			log.Debug("debug line")
			log.Info("info line")
			got := out.String()
			if strings.Contains(got, "debug line") != tc.debug || strings.Contains(got, "info line") != tc.info {
				t.Errorf("logged %q, want debug %v and info %v", got, tc.debug, tc.info)
			}
			if tc.json != strings.HasPrefix(got, "{") {
				t.Errorf("logged %q, want JSON %v", got, tc.json)
			}
		})
	}
}

// Secrets the bot's logs must never show.
const (
	testDiscordToken = "MTAwMDAwMDAwMDAwMDAwMDAx.secret-discord-token"
	testAPIKey       = "sk-secret-model-key"
)

// TestBotLogsNoSecrets runs `parley bot` with debug logs in both formats,
// through a model failure and Discord errors (whose URLs carry interaction
// tokens), and checks that neither the bot token, nor an interaction
// token, nor the model's key reaches the log.
func TestBotLogsNoSecrets(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			model := llmtest.New(t, llmtest.Reply{Status: http.StatusUnauthorized})
			br := startBotCmd(t, map[string]string{
				envLogFormat: format, envLogLevel: "debug",
				"OPENAI_BASE_URL": model.URL, "OPENAI_API_KEY": testAPIKey,
			}, discordtest.WithToken(testDiscordToken))
			br.fake.FailNext(http.MethodPatch, "/webhooks/", http.StatusInternalServerError, 1)
			tok := br.ask(t, "Who is talking to Hamas, and where?", "700000000000000001")
			br.waitAnswered(t, tok)
			br.stop(t)

			logs := br.stderr.String()
			for _, want := range []string{"bot ready", "model failed; answering extractively", "discord call failed; retrying"} {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %q:\n%s", want, logs)
				}
			}
			for _, secret := range []string{testDiscordToken, "secret-discord-token", tok, "itoken-", testAPIKey} {
				if strings.Contains(logs, secret) {
					t.Errorf("log contains %q:\n%s", secret, logs)
				}
			}
			if format == "json" {
				for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
					var rec struct{ Level, Msg string }
					if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Level == "" || rec.Msg == "" {
						t.Errorf("log line %q is not a JSON record with level and msg (%v)", line, err)
					}
				}
			}
		})
	}
}

func TestBotRejectedTokenNotLogged(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t, discordtest.WithToken("the-right-token"))
	br := newBotCmd(t, map[string]string{envLogLevel: "debug"})
	err := br.app.runBot(t.Context(), "", func(c *bot.Config) { c.HTTPClient, c.Dialer = fake.HTTPClient(), fake.Dialer() })
	if err == nil || !strings.Contains(err.Error(), "rejected the token") {
		t.Fatalf("runBot = %v, want a rejected-token error", err)
	}
	if strings.Contains(err.Error(), testDiscordToken) || strings.Contains(br.stderr.String(), testDiscordToken) {
		t.Errorf("the token leaked: error %q, log:\n%s", err, br.stderr.String())
	}
}

// botCmd is `parley bot` running in-process against a fake Discord.
type botCmd struct {
	app    *app
	env    map[string]string
	fake   *discordtest.Server
	stderr *discordtest.LogBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// newBotCmd prepares an app for `parley bot` with a new store, the test
// token and env on top.
func newBotCmd(t *testing.T, env map[string]string) *botCmd {
	dir := t.TempDir()
	full := map[string]string{
		"PARLEY_DB": filepath.Join(dir, "parley.db"), "HOME": dir,
		"DISCORD_TOKEN": testDiscordToken, "PARLEY_GUILD_ID": discordtest.DefaultGuildID,
	}
	for k, v := range env {
		full[k] = v
	}
	br := &botCmd{env: full, stderr: &discordtest.LogBuffer{}, done: make(chan error, 1)}
	br.app = &app{
		getenv: func(k string) string { return full[k] }, stdin: strings.NewReader(""),
		stdout: &bytes.Buffer{}, stderr: br.stderr, now: time.Now,
		fetcher: webpage.NewFetcher(webpage.Options{Timeout: 5 * time.Second}),
	}
	return br
}

// startBotCmd runs the bot against a new fake Discord, with env on top of
// a new store and the test token, and waits until its commands are
// registered. The test's end stops it.
func startBotCmd(t *testing.T, env map[string]string, fakeOpts ...discordtest.Option) *botCmd {
	t.Helper()
	br := newBotCmd(t, env)
	br.fake = discordtest.New(t, fakeOpts...)
	ctx, cancel := context.WithCancel(context.Background())
	br.cancel = cancel
	go func() {
		br.done <- br.app.runBot(ctx, "", func(c *bot.Config) {
			c.HTTPClient, c.Dialer = br.fake.HTTPClient(), br.fake.Dialer()
			c.ShutdownGrace = 200 * time.Millisecond
		})
	}()
	t.Cleanup(func() { br.stop(t) })
	wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer wcancel()
	err := br.fake.WaitFor(wctx, func(reqs []discordtest.Request) bool {
		return len(discordtest.Filter(reqs, http.MethodPut, "/applications/")) > 0
	})
	if err != nil {
		t.Fatalf("commands never registered: %v\n%s", err, br.stderr.String())
	}
	return br
}

// stop cancels the bot's context and checks that runBot returns nil.
func (br *botCmd) stop(t *testing.T) {
	br.once.Do(func() {
		br.cancel()
		select {
		case err := <-br.done:
			if err != nil {
				t.Errorf("runBot returned %v, want nil", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("runBot did not return within 20s of cancellation")
		}
	})
}

// ask sends /ask from user and returns the interaction token.
func (br *botCmd) ask(t *testing.T, question, user string) string {
	t.Helper()
	return br.fake.SendInteraction(discordtest.SlashCommand("ask",
		discordtest.Options(discordtest.String("question", question)),
		discordtest.ByMember(discordtest.Member(user, 0))))
}

// waitAnswered waits until the interaction's response is the answer with
// its feedback buttons.
func (br *botCmd) waitAnswered(t *testing.T, token string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := br.fake.WaitFor(ctx, func([]discordtest.Request) bool {
		m, ok := br.fake.Original(token)
		return ok && len(m.Components) > 0
	})
	if err != nil {
		m, _ := br.fake.Original(token)
		t.Fatalf("no answer: %v; @original %q\n%s", err, m.Content, br.stderr.String())
	}
}
