package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"parley/bot/discordtest"
	"parley/knowledge"
)

func TestCommandsRegistered(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, guild string
		content     bool
	}{
		{"guild", discordtest.DefaultGuildID, false},
		{"global with message content", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := startBot(t, withConfig(func(c *Config) { c.GuildID, c.MessageContent = tc.guild, tc.content }))
			cmds := tb.fake.Commands(tc.guild)
			byName := map[string]*discordgo.ApplicationCommand{}
			for _, c := range cmds {
				byName[c.Name] = c
			}
			if len(cmds) != 3 || byName[cmdAsk] == nil || byName[cmdSource] == nil || byName[cmdGaps] == nil {
				t.Fatalf("registered %d commands %v, want ask, source and gaps", len(cmds), byName)
			}
			askOpts := byName[cmdAsk].Options
			if len(askOpts) != 1 || askOpts[0].Name != optQuestion || !askOpts[0].Required || askOpts[0].Type != discordgo.ApplicationCommandOptionString {
				t.Errorf("ask options = %+v, want one required string %q", askOpts, optQuestion)
			}
			wantSubs := map[string][]string{subAdd: {optURL}, subAddText: nil, subList: {optPage}, subShow: {optID}, subRemove: {optID}, subLog: nil}
			subs := byName[cmdSource].Options
			if len(subs) != len(wantSubs) {
				t.Errorf("source has %d subcommands, want %d", len(subs), len(wantSubs))
			}
			for _, s := range subs {
				want, ok := wantSubs[s.Name]
				var got []string
				for _, o := range s.Options {
					got = append(got, o.Name)
				}
				if !ok || s.Type != discordgo.ApplicationCommandOptionSubCommand || !slices.Equal(got, want) {
					t.Errorf("source subcommand %q options %v, want %v", s.Name, got, want)
				}
			}
			for _, name := range []string{cmdSource, cmdGaps} {
				c := byName[name]
				if c.DefaultMemberPermissions == nil || *c.DefaultMemberPermissions != discordgo.PermissionManageMessages {
					t.Errorf("%s default_member_permissions = %v, want Manage Messages", name, c.DefaultMemberPermissions)
				}
				if c.DMPermission == nil || *c.DMPermission {
					t.Errorf("%s dm_permission = %v, want false", name, c.DMPermission)
				}
			}
			if c := byName[cmdAsk]; c.DefaultMemberPermissions != nil {
				t.Errorf("ask has default_member_permissions %d, want everyone", *c.DefaultMemberPermissions)
			}
			ids := tb.fake.Identifies()
			want := discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages
			if tc.content {
				want |= discordgo.IntentMessageContent
			}
			if len(ids) != 1 || ids[0].Intents != want {
				t.Errorf("IDENTIFY intents = %v, want %d once", ids, want)
			}
		})
	}
}

func TestAskIsDeferredThenAnswered(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	token := tb.fake.SendInteraction(ask("Who is talking to Hamas in Doha?", discordtest.InChannel("555000000000000001")))
	m := tb.deferredReply(token, false)
	for _, want := range []string{
		"You asked: Who is talking to Hamas in Doha? [1]",
		"**Sources**",
		"[1] Talks resume in Doha — Test Desk · 8 Mar 2025 · <https://example.com/news/talks-resume>",
		"-# As of 8 March 2025",
		markExtractive,
	} {
		if !strings.Contains(m.Content, want) {
			t.Errorf("answer lacks %q:\n%s", want, m.Content)
		}
	}
	if got, want := buttonIDs(m.Components), []string{"fb:up:7", "fb:down:7"}; !slices.Equal(got, want) {
		t.Errorf("buttons %v, want %v", got, want)
	}
	qs := tb.ans.questions()
	if len(qs) != 1 || qs[0].Asker != "discord:"+discordtest.DefaultUserID ||
		qs[0].Place != "discord:"+discordtest.DefaultGuildID+"/555000000000000001" || len(qs[0].History) != 0 {
		t.Errorf("answerer got %+v, want one question from discord:%s in the guild channel", qs, discordtest.DefaultUserID)
	}
}

func TestAnswerMarks(t *testing.T) {
	t.Parallel()
	refusal := knowledge.Answer{ID: 3, Text: "My sources don't cover that.", Refusal: true, Extractive: true,
		Closest: []knowledge.Citation{testCitation}}
	modelAnswer := knowledge.Answer{ID: 4, Text: "Qatar mediates [1].", Citations: []knowledge.Citation{testCitation},
		AsOf: testCitation.PublishedAt, Unverified: []string{"a quote"}}
	tb := startBot(t, withAnswerer(newFakeAnswerer(func(_ context.Context, q knowledge.Question) (knowledge.Answer, error) {
		if strings.Contains(q.Text, "bananas") {
			return refusal, nil
		}
		return modelAnswer, nil
	})))
	m := tb.deferredReply(tb.fake.SendInteraction(ask("Price of bananas?", byUser("101", 0))), false)
	for _, want := range []string{"My sources don't cover that.", "**The closest sources I have:**", "• Talks resume in Doha", markRefusal} {
		if !strings.Contains(m.Content, want) {
			t.Errorf("refusal lacks %q:\n%s", want, m.Content)
		}
	}
	if strings.Contains(m.Content, markExtractive) || strings.Contains(m.Content, "As of") {
		t.Errorf("refusal shows extractive mark or as-of date:\n%s", m.Content)
	}
	m = tb.deferredReply(tb.fake.SendInteraction(ask("Who mediates?", byUser("102", 0))), false)
	if strings.Contains(m.Content, markExtractive) || !strings.Contains(m.Content, "1 quotation(s) could not be found") {
		t.Errorf("model answer marks wrong:\n%s", m.Content)
	}
}

func TestAskConcurrent(t *testing.T) {
	t.Parallel()
	for _, n := range []int{20, 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			slow := newFakeAnswerer(func(ctx context.Context, q knowledge.Question) (knowledge.Answer, error) {
				select {
				case <-time.After(30 * time.Millisecond):
				case <-ctx.Done():
					return knowledge.Answer{}, ctx.Err()
				}
				return echoAnswer(ctx, q)
			})
			tb := startBot(t, withAnswerer(slow), withConfig(func(c *Config) { c.MaxConcurrent, c.MaxQueued = 4, 8 }))
			tokens := make([]string, n)
			for k := range n {
				tokens[k] = tb.fake.SendInteraction(ask(fmt.Sprintf("Question %d?", k), byUser(fmt.Sprint(1000+k), 0)))
			}
			answered, busy := 0, 0
			for _, tok := range tokens {
				cb := tb.ack(tok) // fails unless acknowledged within the fake's 3 s
				switch cb.Type {
				case discordgo.InteractionResponseChannelMessageWithSource:
					if cb.Flags&discordgo.MessageFlagsEphemeral == 0 || cb.Content != msgBusy {
						t.Errorf("immediate reply %q (flags %d), want the ephemeral busy note", cb.Content, cb.Flags)
					}
					busy++
				case discordgo.InteractionResponseDeferredChannelMessageWithSource:
					m, _ := tb.answered(tok)
					if !strings.Contains(m.Content, "You asked: Question") {
						t.Errorf("answer %q", m.Content)
					}
					answered++
				default:
					t.Errorf("callback type %d", cb.Type)
				}
			}
			if answered < 4+8 {
				t.Errorf("%d answered, want at least the 12 slots and queue places", answered)
			}
			t.Logf("%d questions: %d answered, %d told busy", n, answered, busy)
			if got := len(slow.questions()); got != answered {
				t.Errorf("answerer called %d times, want %d", got, answered)
			}
		})
	}
}

func TestStreamingEditsAreThrottled(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	var streamed atomic.Int64 // nanoseconds
	stream := newFakeAnswerer(func(ctx context.Context, q knowledge.Question) (knowledge.Answer, error) {
		start := time.Now()
		text := ""
		for k := range 40 {
			text += fmt.Sprintf("word%d ", k)
			q.OnDelta(text)
			time.Sleep(10 * time.Millisecond)
		}
		streamed.Store(int64(time.Since(start)))
		return knowledge.Answer{ID: 9, Text: "Checked answer [1].", Citations: []knowledge.Citation{testCitation}, AsOf: testCitation.PublishedAt}, nil
	})
	stream.extractive = false
	tb := startBot(t, withAnswerer(stream), withConfig(func(c *Config) { c.StreamInterval = interval }))
	token := tb.fake.SendInteraction(ask("Stream please"))
	m := tb.deferredReply(token, false)
	if !strings.HasPrefix(m.Content, "Checked answer [1].") || strings.Contains(m.Content, "word") {
		t.Errorf("final answer %q, want the checked text only", m.Content)
	}
	var previews []string
	for _, r := range discordtest.Filter(tb.fake.Requests(), http.MethodPatch, "/webhooks/") {
		if c := bodyContent(r); strings.Contains(c, markWriting) {
			previews = append(previews, c)
		}
	}
	took := time.Duration(streamed.Load())
	maxEdits := int(took/interval) + 2
	if len(previews) < 1 || len(previews) > maxEdits {
		t.Errorf("%d streaming edits over %v, want 1 to %d", len(previews), took, maxEdits)
	}
	for _, p := range previews {
		if !strings.HasPrefix(p, "word0") {
			t.Errorf("preview %q does not show the text so far", p)
		}
	}
}

func TestLongAnswerSplitsIntoFollowups(t *testing.T) {
	t.Parallel()
	long := longAnswer()
	tb := startBot(t, withAnswerer(longAnswerer()))
	token := tb.fake.SendInteraction(ask("Tell me everything"))
	orig, fups := tb.answered(token)
	msgs := append([]discordtest.Message{orig}, fups...)
	if len(msgs) < 3 {
		t.Fatalf("%d messages, want the answer split over at least 3", len(msgs))
	}
	var all []string
	for k, m := range msgs {
		if n := textLen(m.Content); n > maxMessage || n == 0 {
			t.Errorf("message %d has %d characters", k, n)
		}
		if hasButtons := len(m.Components) > 0; hasButtons != (k == len(msgs)-1) {
			t.Errorf("message %d has buttons = %v, want them on the last only", k, hasButtons)
		}
		if k > 0 && (m.Ephemeral() || m.Flags&discordgo.MessageFlagsSuppressEmbeds == 0) {
			t.Errorf("follow-up %d flags %d, want public with embeds suppressed", k, m.Flags)
		}
		if strings.HasPrefix(m.Content, "[") {
			t.Errorf("message %d starts with a citation: %.40q", k, m.Content)
		}
		all = append(all, m.Content)
	}
	if got, want := strings.Fields(strings.Join(all, " ")), strings.Fields(renderAnswer(long)); !slices.Equal(got, want) {
		t.Errorf("the messages do not add up to the answer")
	}
}

func TestMentionsInQuestionsPingNobody(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	q := "@everyone @here <@&800000000000000099> <@800000000000000098> what now?"
	m := tb.deferredReply(tb.fake.SendInteraction(ask(q)), false)
	if !strings.Contains(m.Content, "@everyone @here <@&800000000000000099>") {
		t.Errorf("answer %q does not repeat the question", m.Content)
	}
	if m.AllowedMentions == nil || m.AllowedMentions.Parse == nil || len(m.AllowedMentions.Parse) != 0 ||
		len(m.AllowedMentions.Roles) != 0 || len(m.AllowedMentions.Users) != 0 {
		t.Errorf("allowed_mentions = %+v, want parse [] and nothing else", m.AllowedMentions)
	}
}

func TestQuestionTooLong(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	msg := tb.privateReply(tb.fake.SendInteraction(ask(strings.Repeat("a", knowledge.MaxQuestionRunes+1))))
	if !strings.Contains(msg, "too long") {
		t.Errorf("reply %q, want a polite too-long note", msg)
	}
	if msg := tb.privateReply(tb.fake.SendInteraction(ask("   "))); msg != msgEmptyAsk {
		t.Errorf("blank question: reply %q", msg)
	}
	if n := len(tb.ans.questions()); n != 0 {
		t.Errorf("answerer called %d times", n)
	}
}

// clock is a settable clock for cooldowns.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestCooldown(t *testing.T) {
	t.Parallel()
	clk := &clock{now: day(2025, 3, 8)}
	tb := startBot(t, withConfig(func(c *Config) { c.Cooldown, c.Now = 10*time.Second, clk.Now }))
	tb.deferredReply(tb.fake.SendInteraction(ask("First?")), false)
	clk.add(3 * time.Second)
	if msg := tb.privateReply(tb.fake.SendInteraction(ask("Second?"))); msg != msgCooldown(7*time.Second) || !strings.Contains(msg, "7 seconds") {
		t.Errorf("reply %q, want the cooldown note with 7 seconds", msg)
	}
	// Another user is not held up.
	tb.deferredReply(tb.fake.SendInteraction(ask("Other user?", byUser("202", 0))), false)
	clk.add(8 * time.Second)
	tb.deferredReply(tb.fake.SendInteraction(ask("Third?")), false)
	if n := len(tb.ans.questions()); n != 3 {
		t.Errorf("answerer called %d times, want 3", n)
	}
}

func TestEditRetriedAfterRateLimit(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	tb.fake.FailNext(http.MethodPatch, "/webhooks/", http.StatusTooManyRequests, 2)
	token := tb.fake.SendInteraction(ask("Rate limited?"))
	m := tb.deferredReply(token, false)
	if !strings.Contains(m.Content, "You asked: Rate limited?") {
		t.Errorf("answer %q", m.Content)
	}
	if n := len(discordtest.Filter(tb.fake.Requests(), http.MethodPatch, "/webhooks/")); n != 3 {
		t.Errorf("%d edits, want 3 (two rate limited, one through)", n)
	}
}

func TestEditServerErrorsGiveUpWithFollowup(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	tb.fake.FailNext(http.MethodPatch, "/webhooks/", http.StatusInternalServerError, 100)
	token := tb.fake.SendInteraction(ask("Discord is down?"))
	tb.ack(token)
	tb.waitUntil("an error follow-up", func() bool { return len(tb.fake.Followups(token)) > 0 })
	f := tb.fake.Followups(token)[0]
	if !f.Ephemeral() || f.Content != msgNoPost {
		t.Errorf("follow-up %q (ephemeral %v), want the short ephemeral note", f.Content, f.Ephemeral())
	}
	if n := len(discordtest.Filter(tb.fake.Requests(), http.MethodPatch, "/webhooks/")); n != maxAttempts {
		t.Errorf("%d edit attempts, want %d", n, maxAttempts)
	}
	tb.waitUntil("@original deleted", func() bool { m, _ := tb.fake.Original(token); return m.Deleted })
}

func TestAnswerErrorShowsApologyOnly(t *testing.T) {
	t.Parallel()
	const secret = "model exploded: api key sk-secret-123"
	tb := startBot(t, withAnswerer(newFakeAnswerer(func(context.Context, knowledge.Question) (knowledge.Answer, error) {
		return knowledge.Answer{}, errors.New(secret)
	})))
	token := tb.fake.SendInteraction(ask("Break?"))
	tb.ack(token)
	tb.waitUntil("an apology", func() bool { return len(tb.fake.Followups(token)) > 0 })
	if f := tb.fake.Followups(token)[0]; !f.Ephemeral() || f.Content != msgApology {
		t.Errorf("follow-up %q (ephemeral %v), want the ephemeral apology", f.Content, f.Ephemeral())
	}
	for _, r := range tb.fake.Requests() {
		if strings.Contains(string(r.Body), "sk-secret") || strings.Contains(string(r.Body), "exploded") {
			t.Errorf("internal error reached Discord: %v", r)
		}
	}
	if !strings.Contains(tb.logs.String(), "answering failed") {
		t.Errorf("error not logged")
	}
}

func TestSlowModelIsAckedFirst(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	called := make(chan struct{}, 1)
	slow := newFakeAnswerer(func(ctx context.Context, q knowledge.Question) (knowledge.Answer, error) {
		called <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return knowledge.Answer{}, ctx.Err()
		}
		return echoAnswer(ctx, q)
	})
	tb := startBot(t, withAnswerer(slow))
	token := tb.fake.SendInteraction(ask("Slow?"))
	if cb := tb.ack(token); cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("callback type %d, want 5", cb.Type)
	}
	select {
	case <-called:
	case <-time.After(waitTimeout):
		t.Fatal("answerer never called")
	}
	// The model is still working: the user sees "thinking...".
	if m, ok := tb.fake.Original(token); !ok || !m.Deferred {
		t.Errorf("@original = %+v, want the deferred response", m)
	}
	close(release)
	m := tb.deferredReply(token, false)
	if !strings.Contains(m.Content, "You asked: Slow?") {
		t.Errorf("answer %q", m.Content)
	}
}

func TestShutdownInterruptsAnswer(t *testing.T) {
	t.Parallel()
	called := make(chan struct{}, 1)
	var answerErr error
	var mu sync.Mutex
	stuck := newFakeAnswerer(func(ctx context.Context, q knowledge.Question) (knowledge.Answer, error) {
		called <- struct{}{}
		<-ctx.Done()
		mu.Lock()
		answerErr = ctx.Err()
		mu.Unlock()
		return knowledge.Answer{}, ctx.Err()
	})
	tb := startBot(t, withAnswerer(stuck))
	token := tb.fake.SendInteraction(ask("Will you finish?"))
	tb.ack(token)
	select {
	case <-called:
	case <-time.After(waitTimeout):
		t.Fatal("answerer never called")
	}
	took := tb.stop()
	if took > 10*time.Second {
		t.Errorf("Run took %v to return after cancellation", took)
	}
	t.Logf("Run returned %v after cancellation", took)
	m, ok := tb.fake.Original(token)
	if !ok || m.Content != markInterrupted {
		t.Errorf("@original = %q, want the interrupted note", m.Content)
	}
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(answerErr, context.Canceled) {
		t.Errorf("answer context ended with %v, want canceled", answerErr)
	}
}

func TestRejectedTokenStopsRun(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t, discordtest.WithToken("the-right-token"))
	b, err := New(Config{Token: testToken, HTTPClient: fake.HTTPClient(), Dialer: fake.Dialer()},
		Deps{Answerer: newFakeAnswerer(echoAnswer), Sources: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(t.Context()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "rejected the token") || strings.Contains(err.Error(), testToken) {
			t.Errorf("Run = %v, want a rejected-token error without the token", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return")
	}
}

func TestFailedRegistrationIsNotFatal(t *testing.T) {
	t.Parallel()
	tb := startBot(t, func(s *setup) { s.fake.FailNext(http.MethodPut, "/applications/", http.StatusBadRequest, 1) })
	tb.waitUntil("the failure logged", func() bool { return strings.Contains(tb.logs.String(), "commands not registered") })
	m := tb.deferredReply(tb.fake.SendInteraction(ask("Still there?")), false)
	if !strings.Contains(m.Content, "You asked: Still there?") {
		t.Errorf("answer %q", m.Content)
	}
}
