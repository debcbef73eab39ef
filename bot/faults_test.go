package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"parley/bot/discordtest"
	"parley/knowledge"
)

// discordErrors records what the bot reports to Config.OnDiscordError.
type discordErrors struct {
	mu   sync.Mutex
	seen []string // "op status"
}

func (d *discordErrors) record(op string, status int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, fmt.Sprintf("%s %d", op, status))
}

// count returns how many reports were op with status.
func (d *discordErrors) count(op string, status int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, s := range d.seen {
		if s == fmt.Sprintf("%s %d", op, status) {
			n++
		}
	}
	return n
}

func withDiscordErrors(d *discordErrors) option {
	return withConfig(func(c *Config) { c.OnDiscordError = d.record })
}

// longAnswer is an answer whose text needs the first message and at least
// two follow-ups.
func longAnswer() knowledge.Answer {
	var sb strings.Builder
	for k := range 60 {
		fmt.Fprintf(&sb, "Sentence %d says the negotiators met again in Doha and Cairo to discuss the phases [1]. ", k)
		if k%10 == 9 {
			sb.WriteString("\n\n")
		}
	}
	return knowledge.Answer{ID: 12, Text: sb.String(), Citations: []knowledge.Citation{testCitation}, AsOf: testCitation.PublishedAt}
}

// longAnswerer answers every question with longAnswer.
func longAnswerer() *fakeAnswerer {
	long := longAnswer()
	return newFakeAnswerer(func(context.Context, knowledge.Question) (knowledge.Answer, error) { return long, nil })
}

func TestFollowupFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		status   int
		n        int
		complete bool // the whole answer arrives; else the apology
	}{
		{"rate limited twice", http.StatusTooManyRequests, 2, true},
		{"bad gateway once", http.StatusBadGateway, 1, true},
		{"server errors throughout", http.StatusInternalServerError, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := &discordErrors{}
			tb := startBot(t, withAnswerer(longAnswerer()), withDiscordErrors(errs))
			tb.fake.FailNext(http.MethodPost, "/webhooks/", tc.status, tc.n)
			token := tb.fake.SendInteraction(ask("Tell me everything"))
			tb.ack(token)
			if tc.complete {
				orig, fups := tb.answered(token)
				if len(fups) < 2 || !strings.HasPrefix(orig.Content, "Sentence 0") {
					t.Errorf("@original %.40q and %d follow-ups, want the answer split over at least 3 messages", orig.Content, len(fups))
				}
				if got := errs.count(opFollowup, tc.status); got != tc.n {
					t.Errorf("%d follow-up errors reported with status %d, want %d", got, tc.status, tc.n)
				}
				return
			}
			// Follow-ups keep failing: the apology cannot go out as one,
			// so it replaces the first part of the answer.
			tb.waitUntil("the apology in @original", func() bool {
				m, _ := tb.fake.Original(token)
				return m.Content == msgNoPost
			})
			m, _ := tb.fake.Original(token)
			if m.Deleted || len(m.Components) != 0 {
				t.Errorf("@original deleted %v with %d components, want the apology without buttons", m.Deleted, len(m.Components))
			}
			// The rest of the answer, then the apology: each tried
			// maxAttempts times, no more.
			if n := len(discordtest.Filter(tb.fake.Requests(), http.MethodPost, "/webhooks/")); n != 2*maxAttempts {
				t.Errorf("%d follow-up attempts, want %d", n, 2*maxAttempts)
			}
			if got := errs.count(opFollowup, tc.status); got != 2*maxAttempts {
				t.Errorf("%d follow-up errors reported, want %d", got, 2*maxAttempts)
			}
		})
	}
}

func TestThreadStartFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		status   int
		n        int
		inThread bool // the thread is started after all; else the answer is a reply in the channel
	}{
		{"rate limited twice", http.StatusTooManyRequests, 2, true},
		{"server error once", http.StatusServiceUnavailable, 1, true},
		{"server errors throughout", http.StatusInternalServerError, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := &discordErrors{}
			tb := startBot(t, withDiscordErrors(errs))
			threadPath := "/channels/" + discordtest.DefaultChannelID + "/messages/"
			tb.fake.FailNext(http.MethodPost, threadPath, tc.status, tc.n)
			msg := tb.fake.MessageCreate(discordtest.UserMessage(discordtest.DefaultChannelID, "611", mention("Who mediates?"), botID))
			if tc.inThread {
				tb.waitUntil("a thread", func() bool { return len(tb.fake.Threads(discordtest.DefaultChannelID)) == 1 })
				th := tb.fake.Threads(discordtest.DefaultChannelID)[0]
				if ans := tb.waitAnswers(th.ID, 1)[0]; !strings.HasPrefix(ans.Content, "You asked: Who mediates?") {
					t.Errorf("answer in the thread %q", ans.Content)
				}
			} else {
				ans := tb.waitAnswers(discordtest.DefaultChannelID, 1)[0]
				if ans.Reference == nil || ans.Reference.MessageID != msg.ID {
					t.Errorf("answer reference %+v, want a reply to %s", ans.Reference, msg.ID)
				}
				if n := len(tb.fake.Threads(discordtest.DefaultChannelID)); n != 0 {
					t.Errorf("%d threads, want none", n)
				}
			}
			want := min(tc.n, maxAttempts)
			if n := len(discordtest.Filter(tb.fake.Requests(), http.MethodPost, threadPath)); n != want+btoi(tc.inThread) {
				t.Errorf("%d thread requests, want %d", n, want+btoi(tc.inThread))
			}
			if got := errs.count(opThread, tc.status); got != want {
				t.Errorf("%d thread errors reported, want %d", got, want)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestGatewayReconnectDuringAnswer drops the gateway connection while an
// answer is being worked on: discordgo resumes, the answer (which goes over
// REST) is still delivered, and questions asked after the reconnection are
// answered.
func TestGatewayReconnectDuringAnswer(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	called := make(chan struct{}, 1)
	slow := newFakeAnswerer(func(ctx context.Context, q knowledge.Question) (knowledge.Answer, error) {
		if strings.Contains(q.Text, "first") {
			called <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
				return knowledge.Answer{}, ctx.Err()
			}
		}
		return echoAnswer(ctx, q)
	})
	var mu sync.Mutex
	var kinds []string
	tb := startBot(t, withAnswerer(slow), withConfig(func(c *Config) {
		c.OnInteraction = func(kind string) { mu.Lock(); kinds = append(kinds, kind); mu.Unlock() }
	}))
	// discordgo mishandles a drop before its first heartbeat (see
	// discordtest.DropConnections); Connected waits for that too.
	tb.waitConnected()
	token := tb.fake.SendInteraction(ask("The first question?", byUser("621", 0)))
	tb.ack(token)
	select {
	case <-called:
	case <-time.After(waitTimeout):
		t.Fatal("answerer never called")
	}

	tb.fake.DropConnections()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := tb.fake.WaitGateway(ctx, func(st discordtest.GatewayStats) bool { return st.Resumes == 1 && st.Connections == 1 }); err != nil {
		t.Fatalf("no resume after the drop: %v", err)
	}
	close(release)
	if m := tb.deferredReply(token, false); !strings.Contains(m.Content, "You asked: The first question?") {
		t.Errorf("answer after the reconnection %q", m.Content)
	}
	tb.waitConnected()
	second := tb.fake.SendInteraction(ask("The second question?", byUser("622", 0)))
	if m := tb.deferredReply(second, false); !strings.Contains(m.Content, "You asked: The second question?") {
		t.Errorf("answer to a question after the reconnection %q", m.Content)
	}
	if st := tb.fake.GatewayStats(); st.Identifies != 1 {
		t.Errorf("%d IDENTIFYs, want 1 (the drop resumed the session)", st.Identifies)
	}
	mu.Lock()
	if strings.Join(kinds, ",") != "ask,ask" {
		t.Errorf("OnInteraction saw %v, want ask twice", kinds)
	}
	mu.Unlock()
	tb.stop()
	if tb.bot.Connected() {
		t.Errorf("Connected() = true after Run returned")
	}
}

// waitConnected waits until the bot reports its gateway connection up.
func (tb *testBot) waitConnected() {
	tb.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !tb.bot.Connected() {
		if time.Now().After(deadline) {
			tb.t.Fatal("the bot never reported its gateway connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInteractionKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		i    *discordgo.Interaction
		want string
	}{
		{ask("x"), "ask"},
		{discordtest.SlashCommand(cmdGaps), "gaps"},
		{discordtest.SlashCommand("retired"), "unknown"},
		{discordtest.ButtonClick("fb:up:1"), "feedback"},
		{discordtest.ModalSubmit("source-add", nil), "modal"},
	} {
		if tc.i.Type == 0 {
			tc.i.Type = tc.i.Data.Type()
		}
		if got := interactionKind(tc.i); got != tc.want {
			t.Errorf("interactionKind(%v) = %q, want %q", tc.i.Type, got, tc.want)
		}
	}
}

func TestErrStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{}}}, 429},
		{&discordgo.RESTError{Response: &http.Response{StatusCode: 503, Status: "503 Service Unavailable"}}, 503},
		{fmt.Errorf("Exceeded Max retries HTTP 502 Bad Gateway, %s", "{}"), 502},
		{context.DeadlineExceeded, 0},
	} {
		if got := errStatus(tc.err); got != tc.want {
			t.Errorf("errStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
