package bot

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/bwmarrin/discordgo"

	"parley/knowledge"
)

// onMessage is discordgo's MESSAGE_CREATE handler. A message that mentions
// the bot (or replies to it) is a question, answered in a thread started on
// it; a message in such a thread is a follow-up, answered with the thread's
// earlier turns as history. Without the Message Content intent Discord
// sends the text only of mentions and replies to the bot, so only those are
// follow-ups; with it, any message in the thread is. In DMs every message
// is a question, answered in place.
func (b *Bot) onMessage(_ *discordgo.Session, mc *discordgo.MessageCreate) {
	m := mc.Message
	if m == nil || m.Author == nil || m.Author.Bot || m.WebhookID != "" {
		return
	}
	me := b.botUserID()
	if me == "" || m.Author.ID == me {
		return
	}
	if m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply {
		return // joins, pins, thread notices...
	}
	addressed := mentions(m, me) || repliesTo(m, me)
	dm := m.GuildID == ""
	now := b.cfg.Now()
	conv := b.convs.get(m.ChannelID, now)
	switch {
	case dm:
	case conv != nil && (addressed || b.cfg.MessageContent):
	case addressed:
	default:
		return
	}
	if !addressed && questionText(m.Content, me) == "" {
		return // an attachment or sticker alone in a DM or the bot's thread
	}
	if !b.begin() {
		return
	}
	defer b.wg.Done()
	b.handleMessage(b.work, m, me, conv, dm)
}

func mentions(m *discordgo.Message, id string) bool {
	for _, u := range m.Mentions {
		if u != nil && u.ID == id {
			return true
		}
	}
	return false
}

func repliesTo(m *discordgo.Message, id string) bool {
	return m.ReferencedMessage != nil && m.ReferencedMessage.Author != nil && m.ReferencedMessage.Author.ID == id
}

// mentionOf matches a user mention, in both its forms.
var mentionOf = regexp.MustCompile(`<@!?([0-9]+)>`)

// questionText is the message's text without the mentions of the bot.
func questionText(content, botID string) string {
	q := mentionOf.ReplaceAllStringFunc(content, func(s string) string {
		if mentionOf.FindStringSubmatch(s)[1] == botID {
			return " "
		}
		return s
	})
	return strings.Join(strings.Fields(q), " ")
}

// handleMessage answers one message. Refusals (empty, too long, cooldown,
// busy) are short replies to the message, which cannot be private.
func (b *Bot) handleMessage(ctx context.Context, m *discordgo.Message, me string, conv *conversation, dm bool) {
	question := questionText(m.Content, me)
	ref := &discordgo.MessageReference{MessageID: m.ID, ChannelID: m.ChannelID, GuildID: m.GuildID}
	note := func(msg string) {
		if _, err := b.sendMessage(ctx, m.ChannelID, msg, nil, ref); err != nil {
			b.log.Warn("reply not delivered", slog.String(keyErr, safeErr(err)))
		}
	}
	if msg := b.admit(m.Author.ID, question); msg != "" {
		note(msg)
		return
	}
	defer b.limit.leave()
	now := b.cfg.Now()

	target := m.ChannelID
	switch {
	case conv != nil: // a follow-up in the bot's thread or DM
		ref = nil
	case dm:
		conv, ref = b.convs.open(m.ChannelID, now), nil
	default:
		// A new question: answer in a thread on it. Where a thread cannot
		// be started (the message is already in a thread, or the bot lacks
		// the permission), answer in place, as a reply, without memory:
		// remembering the channel would make every later message in it a
		// follow-up.
		var th *discordgo.Channel
		err := b.retryCall(ctx, opThread, func(opts ...discordgo.RequestOption) error {
			var err error
			th, err = b.sess.MessageThreadStartComplex(m.ChannelID, m.ID, &discordgo.ThreadStart{
				Name: threadName(question), AutoArchiveDuration: 1440,
			}, opts...)
			return err
		})
		if err == nil && th != nil && th.ID != "" {
			target, ref = th.ID, nil
			conv = b.convs.open(th.ID, now)
		} else {
			b.log.Info("no thread; answering in the channel", slog.String(keyChannel, m.ChannelID), slog.String(keyErr, safeErr(err)))
		}
	}

	actx, cancel := context.WithTimeout(ctx, b.cfg.AnswerTimeout)
	defer cancel()
	tctx, stopTyping := context.WithCancel(actx)
	b.typingOnce(tctx, target) // at once, so even a quick answer shows it
	go b.typing(tctx, target)
	defer stopTyping()
	q := knowledge.Question{Text: question, Asker: actor(m.Author.ID), Place: place(m.GuildID, target)}
	b.answer(actx, q, &channelReply{b: b, channelID: target, ref: ref, stopTyping: stopTyping}, conv)
}

// threadName names a thread after its question, cut to fit Discord's 100
// characters.
func threadName(question string) string {
	name := clip(strings.Join(strings.Fields(question), " "), 90)
	if name == "" {
		return "Question"
	}
	return name
}

// channelReply delivers an answer as channel messages: the first is sent
// (as a reply when ref is set) and then edited while streaming; the rest
// follow it.
type channelReply struct {
	b          *Bot
	channelID  string
	ref        *discordgo.MessageReference
	stopTyping func()

	mu    sync.Mutex
	msgID string // the first message, once sent
}

func (r *channelReply) put(ctx context.Context, content string, comps []discordgo.MessageComponent, retry bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := func(ctx context.Context, op string, f func(...discordgo.RequestOption) error) error {
		if retry {
			return r.b.retryCall(ctx, op, f)
		}
		return r.b.once(ctx, op, previewTimeout, f)
	}
	if r.msgID == "" {
		var id string
		err := call(ctx, opSend, r.b.sendMessageCall(r.channelID, content, comps, r.ref, &id))
		if err == nil {
			r.msgID = id
		}
		return err
	}
	var cp *[]discordgo.MessageComponent
	if retry {
		if comps == nil {
			comps = []discordgo.MessageComponent{}
		}
		cp = &comps
	}
	return call(ctx, opEdit, r.b.editMessageCall(r.channelID, r.msgID, content, cp))
}

func (r *channelReply) preview(ctx context.Context, content string) {
	if err := r.put(ctx, content, nil, false); err != nil && ctx.Err() == nil {
		r.b.log.Debug("streaming edit failed", slog.String(keyErr, safeErr(err)))
	}
}

func (r *channelReply) show(ctx context.Context, content string, comps []discordgo.MessageComponent) error {
	r.stopTyping()
	return r.put(ctx, content, comps, true)
}

func (r *channelReply) more(ctx context.Context, content string, comps []discordgo.MessageComponent) error {
	_, err := r.b.sendMessage(ctx, r.channelID, content, comps, nil)
	return err
}

// fail removes a half-streamed answer and says sorry in its place.
func (r *channelReply) fail(ctx context.Context, msg string) {
	r.stopTyping()
	r.mu.Lock()
	id := r.msgID
	r.mu.Unlock()
	if id != "" {
		empty := []discordgo.MessageComponent{}
		if err := r.b.retryCall(ctx, opEdit, r.b.editMessageCall(r.channelID, id, msg, &empty)); err == nil {
			return
		}
	}
	if _, err := r.b.sendMessage(ctx, r.channelID, msg, nil, r.ref); err != nil {
		r.b.log.Warn("apology not delivered", slog.String(keyErr, safeErr(err)))
	}
}

func (r *channelReply) interrupted(ctx context.Context) { r.fail(ctx, markInterrupted) }
