package bot

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"parley/bot/discordtest"
	"parley/knowledge"
)

const botID = discordtest.DefaultBotID

func mention(text string) string { return "<@" + botID + "> " + text }

// botAnswers returns the bot's messages in a channel that carry feedback
// buttons, i.e. complete answers.
func (tb *testBot) botAnswers(channelID string) []discordtest.Message {
	var out []discordtest.Message
	for _, m := range tb.fake.Messages(channelID) {
		if m.Author != nil && m.Author.ID == botID && len(m.Components) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// waitAnswers waits until a channel holds n complete answers.
func (tb *testBot) waitAnswers(channelID string, n int) []discordtest.Message {
	tb.t.Helper()
	tb.waitUntil("answers in the channel", func() bool { return len(tb.botAnswers(channelID)) >= n })
	return tb.botAnswers(channelID)
}

// startThread mentions the bot in the default channel and waits for the
// thread and its first answer.
func (tb *testBot) startThread(user, question string) (*discordgo.Channel, discordtest.Message) {
	tb.t.Helper()
	msg := tb.fake.MessageCreate(discordtest.UserMessage(discordtest.DefaultChannelID, user, mention(question), botID))
	tb.waitUntil("a thread", func() bool { return len(tb.fake.Threads(discordtest.DefaultChannelID)) == 1 })
	th := tb.fake.Threads(discordtest.DefaultChannelID)[0]
	if th.ID != msg.ID {
		tb.t.Errorf("thread %s, want one started on the message %s", th.ID, msg.ID)
	}
	return th, tb.waitAnswers(th.ID, 1)[0]
}

func TestMentionIsAnsweredInThread(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	th, ans := tb.startThread("601", "Who mediates in Doha?")
	if th.Name != "Who mediates in Doha?" {
		t.Errorf("thread name %q", th.Name)
	}
	if !strings.HasPrefix(ans.Content, "You asked: Who mediates in Doha? [1]") || !strings.Contains(ans.Content, "**Sources**") {
		t.Errorf("answer %q", ans.Content)
	}
	if got := buttonIDs(ans.Components); !slices.Equal(got, []string{"fb:up:7", "fb:down:7"}) {
		t.Errorf("buttons %v", got)
	}
	if ans.Flags&discordgo.MessageFlagsSuppressEmbeds == 0 {
		t.Errorf("answer flags %d, want embeds suppressed", ans.Flags)
	}
	qs := tb.ans.questions()
	if len(qs) != 1 || qs[0].Text != "Who mediates in Doha?" || qs[0].Asker != "discord:601" ||
		qs[0].Place != "discord:"+discordtest.DefaultGuildID+"/"+th.ID {
		t.Errorf("answerer got %+v", qs)
	}
	if len(discordtest.Filter(tb.fake.Requests(), http.MethodPost, "/channels/"+th.ID+"/typing")) == 0 {
		t.Errorf("no typing indicator in the thread")
	}

	// A mention in the thread is a follow-up, with the earlier turn.
	tb.fake.MessageCreate(discordtest.UserMessage(th.ID, "601", mention("And in Cairo?"), botID))
	answers := tb.waitAnswers(th.ID, 2)
	// A reply to the bot is a follow-up too, even without a mention.
	reply := discordtest.UserMessage(th.ID, "602", "What about Egypt?")
	reply.Type = discordgo.MessageTypeReply
	reply.MessageReference = &discordgo.MessageReference{MessageID: answers[1].ID, ChannelID: th.ID}
	reply.ReferencedMessage = &discordgo.Message{ID: answers[1].ID, ChannelID: th.ID, Author: tb.fake.BotUser()}
	tb.fake.MessageCreate(reply)
	tb.waitAnswers(th.ID, 3)
	// Without the Message Content intent other messages are not questions.
	tb.fake.MessageCreate(discordtest.UserMessage(th.ID, "603", "thanks all"))

	qs = tb.ans.questions()
	if len(qs) != 3 {
		t.Fatalf("answerer got %d questions, want 3", len(qs))
	}
	first := knowledge.Turn{Question: "Who mediates in Doha?", Answer: "You asked: Who mediates in Doha? [1]"}
	second := knowledge.Turn{Question: "And in Cairo?", Answer: "You asked: And in Cairo? [1]"}
	if qs[1].Text != "And in Cairo?" || !slices.Equal(qs[1].History, []knowledge.Turn{first}) {
		t.Errorf("follow-up = %q with history %+v, want %+v", qs[1].Text, qs[1].History, first)
	}
	if qs[2].Text != "What about Egypt?" || !slices.Equal(qs[2].History, []knowledge.Turn{first, second}) {
		t.Errorf("reply = %q with history %+v", qs[2].Text, qs[2].History)
	}
	if n := len(tb.fake.Threads(discordtest.DefaultChannelID)); n != 1 {
		t.Errorf("%d threads, want 1", n)
	}
}

func TestMessageContentMakesEveryThreadMessageAFollowup(t *testing.T) {
	t.Parallel()
	tb := startBot(t, withConfig(func(c *Config) { c.MessageContent = true }))
	th, _ := tb.startThread("701", "Who mediates in Doha?")
	tb.fake.MessageCreate(discordtest.UserMessage(th.ID, "702", "and the prisoners?"))
	tb.waitAnswers(th.ID, 2)
	// Outside the bot's threads, only mentions count.
	tb.fake.MessageCreate(discordtest.UserMessage(discordtest.DefaultChannelID, "702", "just chatting"))
	qs := tb.ans.questions()
	if len(qs) != 2 || qs[1].Text != "and the prisoners?" || len(qs[1].History) != 1 {
		t.Errorf("questions %+v, want the thread message as a follow-up with history", qs)
	}
}

func TestMentionWithoutThreadRepliesInPlace(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	// The bot may not create threads here.
	tb.fake.FailNext(http.MethodPost, "/channels/"+discordtest.DefaultChannelID+"/messages/", http.StatusForbidden, 1)
	msg := tb.fake.MessageCreate(discordtest.UserMessage(discordtest.DefaultChannelID, "801", mention("@everyone is there a deal?"), botID))
	ans := tb.waitAnswers(discordtest.DefaultChannelID, 1)[0]
	if ans.Reference == nil || ans.Reference.MessageID != msg.ID {
		t.Errorf("answer reference %+v, want a reply to %s", ans.Reference, msg.ID)
	}
	if !strings.Contains(ans.Content, "You asked: @everyone is there a deal?") {
		t.Errorf("answer %q", ans.Content)
	}
	// An empty mention gets a hint; bots are ignored.
	tb.fake.MessageCreate(discordtest.UserMessage(discordtest.DefaultChannelID, "802", "<@!"+botID+">", botID))
	tb.waitUntil("a hint", func() bool {
		for _, m := range tb.fake.Messages(discordtest.DefaultChannelID) {
			if m.Content == msgEmptyAsk {
				return true
			}
		}
		return false
	})
	other := discordtest.UserMessage(discordtest.DefaultChannelID, "803", mention("beep?"), botID)
	other.Author.Bot = true
	tb.fake.MessageCreate(other)
	if n := len(tb.ans.questions()); n != 1 {
		t.Errorf("answerer called %d times, want 1", n)
	}
}

func TestDirectMessagesAreConversations(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	const dmChannel = "820000000000000001"
	first := discordtest.UserMessage(dmChannel, "901", "Who mediates in Doha?")
	first.GuildID = ""
	tb.fake.MessageCreate(first)
	tb.waitAnswers(dmChannel, 1)
	second := discordtest.UserMessage(dmChannel, "901", "And in Cairo?")
	second.GuildID = ""
	tb.fake.MessageCreate(second)
	tb.waitAnswers(dmChannel, 2)
	qs := tb.ans.questions()
	if len(qs) != 2 || qs[0].Place != "discord:dm/"+dmChannel || len(qs[1].History) != 1 {
		t.Errorf("questions %+v, want two in the DM, the second with history", qs)
	}
	if n := len(discordtest.Filter(tb.fake.Requests(), http.MethodPost, "/channels/"+dmChannel+"/messages/")); n != 0 {
		t.Errorf("%d thread requests in a DM", n)
	}
}
