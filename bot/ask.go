package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"parley/knowledge"
)

// Words for the asker.
const (
	msgBusy          = "Parley is answering a lot of questions right now. Please try again in a minute."
	msgApology       = "Sorry — something went wrong while answering. Please try again later."
	msgTooSlow       = "Sorry — that took too long to answer. Please try again later, or ask a narrower question."
	msgNoPost        = "Sorry — Discord would not take my answer just now. Please ask again."
	msgUnknownAnswer = "That answer is no longer on record, so I could not count your vote."
	msgEmptyAsk      = "Please ask a question about the talks, for example: who is mediating in Doha?"
)

func msgTooLong(max int) string {
	return fmt.Sprintf("That question is too long: please keep it under %d characters.", max)
}

func msgCooldown(wait time.Duration) string {
	s := int(math.Ceil(wait.Seconds()))
	unit := "seconds"
	if s == 1 {
		unit = "second"
	}
	return fmt.Sprintf("You're asking quickly! Please wait %d %s before your next question.", s, unit)
}

// admit runs the checks every question passes before any work: not empty,
// not too long, the asker's cooldown, a free answer slot. It returns ""
// when the question is admitted (the caller then owns a slot and must
// leave it), or the message to show the asker.
func (b *Bot) admit(user, question string) string {
	switch {
	case question == "":
		return msgEmptyAsk
	case utf8.RuneCountInString(question) > b.cfg.MaxQuestion:
		return msgTooLong(b.cfg.MaxQuestion)
	}
	now := b.cfg.Now()
	if wait := b.cooldowns.take(user, now); wait > 0 {
		return msgCooldown(wait)
	}
	if !b.limit.admit() {
		b.cooldowns.give(user, now)
		b.log.Info("busy: question refused", slog.String(keyUser, user))
		return msgBusy
	}
	return ""
}

// handleAsk serves /ask. The cheap checks (length, cooldown, capacity) run
// first and are answered privately; an accepted question is acknowledged
// at once (deferred) before any store or model work, and answered in its
// own goroutine.
func (b *Bot) handleAsk(ctx context.Context, i *discordgo.Interaction) {
	var question string
	for _, o := range i.ApplicationCommandData().Options {
		if o.Name == optQuestion && o.Type == discordgo.ApplicationCommandOptionString {
			question = strings.TrimSpace(o.StringValue())
		}
	}
	user := userID(i)
	refuse := func(msg string) {
		if err := b.replyPrivately(ctx, i, msg); err != nil {
			b.log.Warn("refusal not delivered", slog.String(keyErr, safeErr(err)))
		}
	}
	if msg := b.admit(user, question); msg != "" {
		refuse(msg)
		return
	}
	start := time.Now()
	if err := b.deferReply(ctx, i, false); err != nil {
		b.limit.leave()
		b.log.Warn("could not acknowledge /ask", slog.String(keyErr, safeErr(err)), slog.Duration(keyElapsed, time.Since(start)))
		return
	}
	q := knowledge.Question{Text: question, Asker: actor(user), Place: place(i.GuildID, i.ChannelID)}
	// Registered before this handler returns, so shutdown waits for it.
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer b.limit.leave()
		ctx, cancel := context.WithTimeout(b.work, b.cfg.AnswerTimeout)
		defer cancel()
		b.answer(ctx, q, &interactionReply{b: b, i: i}, nil)
	}()
}

// reply is where an answer goes: an interaction's deferred response and its
// follow-ups, or messages in a channel.
type reply interface {
	// preview shows a streaming answer so far; one attempt, errors ignored.
	preview(ctx context.Context, content string)
	// show puts the first message of the final answer in place.
	show(ctx context.Context, content string, comps []discordgo.MessageComponent) error
	// more posts a further message of the answer.
	more(ctx context.Context, content string, comps []discordgo.MessageComponent) error
	// fail replaces the answer with a short apology, as privately as the
	// place allows.
	fail(ctx context.Context, msg string)
	// interrupted replaces the answer with the shutdown note.
	interrupted(ctx context.Context)
}

// answer answers q and delivers it through r. ctx bounds the whole answer,
// waiting for a slot included; conv, if not nil, supplies History and gets
// the new turn.
func (b *Bot) answer(ctx context.Context, q knowledge.Question, r reply, conv *conversation) {
	start := time.Now()
	logAttrs := []any{slog.String(keyUser, q.Asker)}
	var ans knowledge.Answer
	var err error
	if conv != nil {
		// Hold the conversation's turn until this answer is posted and
		// remembered, so the next follow-up sees it.
		if err = conv.lock(ctx); err == nil {
			defer conv.unlock()
			q.History = conv.history()
		}
	}
	if err == nil {
		ans, err = b.compute(ctx, q, r)
	}
	// Delivery must survive the answer's own context ending at shutdown or
	// at its deadline, within limits of its own.
	switch {
	case err != nil && errors.Is(err, context.Canceled):
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), interruptTimeout)
		defer cancel()
		b.log.Info("answer interrupted by shutdown", logAttrs...)
		r.interrupted(ictx)
		return
	case err != nil:
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deliverTimeout)
		defer cancel()
		msg := msgApology
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			msg = msgTooSlow
		case errors.Is(err, knowledge.ErrQuestionTooLong):
			msg = msgTooLong(knowledge.MaxQuestionRunes)
		case errors.Is(err, knowledge.ErrInvalid):
			msg = msgEmptyAsk
		}
		b.log.Error("answering failed", append(logAttrs, slog.String(keyErr, safeErr(err)), slog.Duration(keyElapsed, time.Since(start)))...)
		r.fail(dctx, msg)
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deliverTimeout)
	defer cancel()
	pieces := splitMessage(renderAnswer(ans), maxMessage)
	if len(pieces) == 0 {
		pieces = []string{msgApology}
	}
	buttons := feedbackButtons(ans.ID)
	compsFor := func(k int) []discordgo.MessageComponent {
		if k == len(pieces)-1 {
			return buttons
		}
		return nil
	}
	if err := r.show(dctx, pieces[0], compsFor(0)); err != nil {
		b.log.Error("posting the answer failed", append(logAttrs, slog.String(keyErr, safeErr(err)))...)
		r.fail(dctx, msgNoPost)
		return
	}
	for k := 1; k < len(pieces); k++ {
		if err := r.more(dctx, pieces[k], compsFor(k)); err != nil {
			b.log.Error("posting the rest of the answer failed", append(logAttrs, slog.String(keyErr, safeErr(err)))...)
			r.fail(dctx, msgNoPost)
			return
		}
	}
	if conv != nil {
		conv.add(knowledge.Turn{Question: q.Text, Answer: ans.Text}, maxTurns)
	}
	b.log.Info("answered", append(logAttrs, slog.Int64(keyAnswerID, ans.ID), slog.Bool(keyRefusal, ans.Refusal),
		slog.Bool(keyExtractive, ans.Extractive), slog.Int(keyMessages, len(pieces)), slog.Duration(keyElapsed, time.Since(start)))...)
}

// compute waits for a slot, then asks the Answerer, streaming previews
// through r when the model streams.
func (b *Bot) compute(ctx context.Context, q knowledge.Question, r reply) (knowledge.Answer, error) {
	if err := b.limit.start(ctx); err != nil {
		return knowledge.Answer{}, err
	}
	defer b.limit.stop()
	if !b.deps.Answerer.Extractive() {
		s := newStreamer(b.cfg.StreamInterval, func(text string) {
			r.preview(ctx, renderPreview(text))
		})
		defer s.stop() // also runs on panic; stop is idempotent
		q.OnDelta = s.update
		ans, err := b.deps.Answerer.Answer(ctx, q)
		s.stop() // no preview may land after the final answer
		return ans, err
	}
	return b.deps.Answerer.Answer(ctx, q)
}

// streamer turns a stream of "text so far" updates into at most one edit
// per interval. Updates between edits are coalesced into the latest; one
// pending at stop is dropped, since the final answer replaces the preview.
type streamer struct {
	interval time.Duration
	edit     func(string)
	wake     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once

	mu     sync.Mutex
	latest string
	dirty  bool
}

func newStreamer(interval time.Duration, edit func(string)) *streamer {
	s := &streamer{interval: interval, edit: edit, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

// update records the text so far; it never blocks the model's stream.
func (s *streamer) update(text string) {
	s.mu.Lock()
	s.latest, s.dirty = text, true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *streamer) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.quit:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		text, dirty := s.latest, s.dirty
		s.dirty = false
		s.mu.Unlock()
		if dirty && strings.TrimSpace(text) != "" {
			s.edit(text)
		}
		t := time.NewTimer(s.interval)
		select {
		case <-s.quit:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// stop ends the streamer and waits for an edit in progress to finish.
func (s *streamer) stop() {
	s.once.Do(func() { close(s.quit) })
	<-s.done
}

// interactionReply delivers an answer to a deferred interaction: the first
// message edits @original, the rest are follow-ups.
type interactionReply struct {
	b *Bot
	i *discordgo.Interaction
}

func (r *interactionReply) preview(ctx context.Context, content string) {
	err := r.b.once(ctx, opStreamEdit, previewTimeout, r.b.editOriginalCall(r.i, content, nil))
	if err != nil && ctx.Err() == nil {
		r.b.log.Debug("streaming edit failed", slog.String(keyErr, safeErr(err)))
	}
}

func (r *interactionReply) show(ctx context.Context, content string, comps []discordgo.MessageComponent) error {
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	return r.b.editOriginal(ctx, r.i, content, &comps)
}

func (r *interactionReply) more(ctx context.Context, content string, comps []discordgo.MessageComponent) error {
	return r.b.followup(ctx, r.i, content, comps, discordgo.MessageFlagsSuppressEmbeds)
}

// fail tells only the asker (an ephemeral follow-up), then removes the
// public "thinking..." or half-streamed response. When follow-ups fail (they
// may be what failed in the first place), the response itself becomes the
// apology: deleting it would leave the asker with nothing at all.
func (r *interactionReply) fail(ctx context.Context, msg string) {
	if err := r.b.followup(ctx, r.i, msg, nil, discordgo.MessageFlagsEphemeral); err != nil {
		r.b.log.Warn("apology not delivered as a follow-up; editing the response instead", slog.String(keyErr, safeErr(err)))
		empty := []discordgo.MessageComponent{}
		if err := r.b.editOriginal(ctx, r.i, msg, &empty); err != nil {
			r.b.log.Warn("apology not delivered", slog.String(keyErr, safeErr(err)))
		}
		return
	}
	if err := r.b.deleteOriginal(ctx, r.i); err != nil {
		r.b.log.Debug("removing the response failed", slog.String(keyErr, safeErr(err)))
	}
}

func (r *interactionReply) interrupted(ctx context.Context) {
	empty := []discordgo.MessageComponent{}
	if err := r.b.editOriginal(ctx, r.i, markInterrupted, &empty); err != nil {
		r.b.log.Warn("interrupted note not delivered", slog.String(keyErr, safeErr(err)))
	}
}

// handleFeedback records a 👍 or 👎 on an answer. It acknowledges first
// (privately), then writes to the store.
func (b *Bot) handleFeedback(ctx context.Context, i *discordgo.Interaction) {
	answerID, vote, ok := parseFeedback(i.MessageComponentData().CustomID)
	if !ok {
		b.replyPrivately(ctx, i, "That button no longer works.")
		return
	}
	if err := b.deferReply(ctx, i, true); err != nil {
		b.log.Warn("could not acknowledge feedback", slog.String(keyErr, safeErr(err)))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	msg := "Thanks for the feedback!"
	switch err := b.deps.Sources.RecordFeedback(ctx, answerID, actor(userID(i)), vote); {
	case errors.Is(err, knowledge.ErrNotFound):
		msg = msgUnknownAnswer
	case err != nil:
		msg = b.userError(err, "record feedback")
	}
	if err := b.editOriginal(ctx, i, msg, nil); err != nil {
		b.log.Warn("feedback reply not delivered", slog.String(keyErr, safeErr(err)))
	}
}
