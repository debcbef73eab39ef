package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Deadlines for REST calls. Every call carries one: discordgo has none of
// its own beyond the HTTP client's timeout.
const (
	// ackTimeout leaves margin inside Discord's 3 s acknowledgement window.
	ackTimeout       = 2500 * time.Millisecond
	requestTimeout   = 10 * time.Second // one attempt of any other call
	previewTimeout   = 5 * time.Second  // one streaming edit; the next tick tries again
	interruptTimeout = 3 * time.Second  // the "interrupted" note at shutdown
	deliverTimeout   = 45 * time.Second // posting a finished answer, retries included
	commandTimeout   = 20 * time.Second // moderator commands' store work
	fetchTimeout     = 60 * time.Second // /source add: fetching and storing a page
	maxAttempts      = 4                // per call, first try included
	maxRetryAfter    = 10 * time.Second // longer rate limits are not waited out
)

// Operations, as named in the log and to Config.OnDiscordError. They are a
// small fixed set, so a metric labelled with them stays small.
const (
	opCallback   = "interaction_callback"
	opEditReply  = "edit_response"
	opStreamEdit = "stream_edit"
	opFollowup   = "followup"
	opDelete     = "delete_response"
	opSend       = "send_message"
	opEdit       = "edit_message"
	opThread     = "start_thread"
	opTyping     = "typing"
	opRegister   = "register_commands"
)

// noMentions is the allowed_mentions of every write: an empty parse list,
// so @everyone, roles and users in questions, answers or article titles
// ping nobody. (The zero MessageAllowedMentions encodes parse as null,
// which Discord reads as "the defaults".)
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// retryCall runs one REST call, retrying rate limits after the time Discord
// asks for and server errors and network failures with jittered backoff, at
// most maxAttempts times in all and never past ctx. Client errors (4xx) are
// not retried. Each attempt gets its own deadline.
func (b *Bot) retryCall(ctx context.Context, op string, call func(opts ...discordgo.RequestOption) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, requestTimeout)
		err = call(discordgo.WithContext(actx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
		cancel()
		if err == nil {
			return nil
		}
		b.report(ctx, op, err)
		wait, retry := retryDelay(err, attempt)
		if !retry || attempt >= maxAttempts || ctx.Err() != nil {
			return err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		b.log.Debug("discord call failed; retrying", slog.String(keyOp, op), slog.Int(keyAttempt, attempt),
			slog.String(keyErr, safeErr(err)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// once runs a REST call a single time with a deadline; for streaming edits,
// typing indicators and clean-ups, which are not worth retrying.
func (b *Bot) once(ctx context.Context, op string, timeout time.Duration, call func(opts ...discordgo.RequestOption) error) error {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := call(discordgo.WithContext(actx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	if err != nil {
		b.report(ctx, op, err)
	}
	return err
}

// report passes a failed attempt to Config.OnDiscordError, unless it failed
// because ctx was cancelled: that is the bot's doing (an answer finished, a
// shutdown), not Discord's. A deadline, on the other hand, is counted: it
// means Discord was slow.
func (b *Bot) report(ctx context.Context, op string, err error) {
	if b.cfg.OnDiscordError == nil || errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	b.cfg.OnDiscordError(op, errStatus(err))
}

// errStatus is the HTTP status of a failed REST call: 429 for a rate limit,
// 0 when no response came (network failure, timeout).
func errStatus(err error) int {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return http.StatusTooManyRequests
	}
	if status, _ := restCode(err); status != 0 {
		return status
	}
	// discordgo reports a 502 it did not retry as "Exceeded Max retries
	// HTTP 502 Bad Gateway".
	if rest, ok := strings.CutPrefix(err.Error(), "Exceeded Max retries HTTP "); ok && len(rest) >= 3 {
		if n, err := strconv.Atoi(rest[:3]); err == nil {
			return n
		}
	}
	return 0
}

// retryDelay says whether err is worth another attempt, and after how long.
func retryDelay(err error, attempt int) (time.Duration, bool) {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		d := rl.RetryAfter
		if d > maxRetryAfter {
			return 0, false
		}
		return max(d, 50*time.Millisecond), true
	}
	backoff := time.Duration(float64(250*time.Millisecond<<(attempt-1)) * (0.8 + 0.4*rand.Float64()))
	var re *discordgo.RESTError
	if errors.As(err, &re) {
		return backoff, re.Response != nil && re.Response.StatusCode >= 500
	}
	// discordgo reports a 502 it did not retry (MaxRestRetries 0) as a
	// plain error.
	if strings.HasPrefix(err.Error(), "Exceeded Max retries HTTP 5") {
		return backoff, true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return backoff, true
	}
	return 0, false
}

// restCode returns the HTTP status and Discord error code of a REST error.
func restCode(err error) (status, code int) {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return 0, 0
	}
	if re.Message != nil {
		code = re.Message.Code
	}
	return re.Response.StatusCode, code
}

// secretPath matches the token part of webhook and interaction URLs.
var secretPath = regexp.MustCompile(`/(webhooks|interactions)/([0-9]+)/[^/?\s"]+`)

// safeErr renders err for the log without secrets: never RESTError.Request
// (it holds the Authorization header), never a URL with an interaction
// token in it.
func safeErr(err error) string {
	if err == nil {
		return ""
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return "rate limited, retry after " + rl.RetryAfter.String()
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) {
		s := "HTTP error"
		if re.Response != nil {
			s = "HTTP " + re.Response.Status
		}
		if re.Message != nil {
			s += fmt.Sprintf(" (code %d: %s)", re.Message.Code, re.Message.Message)
		}
		return scrub(s)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return scrub(ue.Op + " request: " + ue.Err.Error())
	}
	return scrub(err.Error())
}

func scrub(s string) string {
	return secretPath.ReplaceAllString(s, "/$1/$2/[token]")
}

// respond sends an interaction callback. It is the acknowledgement, so it
// runs under ackTimeout whatever ctx allows.
func (b *Bot) respond(ctx context.Context, i *discordgo.Interaction, resp *discordgo.InteractionResponse) error {
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	err := b.retryCall(ctx, opCallback, func(opts ...discordgo.RequestOption) error {
		return b.sess.InteractionRespond(i, resp, opts...)
	})
	if _, code := restCode(err); code == 40060 {
		return nil // an earlier attempt got through after all
	}
	return err
}

// deferReply acknowledges i with "thinking..." (callback type 5), to be
// replaced with editOriginal.
func (b *Bot) deferReply(ctx context.Context, i *discordgo.Interaction, ephemeral bool) error {
	data := &discordgo.InteractionResponseData{AllowedMentions: noMentions()}
	if ephemeral {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	return b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource, Data: data})
}

// replyPrivately answers i at once with a message only the user sees: the
// form of every refusal and error.
func (b *Bot) replyPrivately(ctx context.Context, i *discordgo.Interaction, content string) error {
	return b.respond(ctx, i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content:         clipMessage(content),
			Flags:           discordgo.MessageFlagsEphemeral,
			AllowedMentions: noMentions(),
		},
	})
}

// editOriginal replaces the content (and, if comps is not nil, the
// components) of i's response. It is retried.
//
// It calls the endpoint itself rather than through InteractionResponseEdit:
// discordgo puts every webhook message edit of every interaction into one
// rate limit bucket, whose lock is held for the whole request, so one slow
// or rate-limited edit would stall every answer.
func (b *Bot) editOriginal(ctx context.Context, i *discordgo.Interaction, content string, comps *[]discordgo.MessageComponent) error {
	return b.retryCall(ctx, opEditReply, b.editOriginalCall(i, content, comps))
}

func (b *Bot) editOriginalCall(i *discordgo.Interaction, content string, comps *[]discordgo.MessageComponent) func(...discordgo.RequestOption) error {
	return func(opts ...discordgo.RequestOption) error {
		uri := discordgo.EndpointWebhookMessage(i.AppID, i.Token, "@original")
		data := &discordgo.WebhookEdit{Content: &content, Components: comps, AllowedMentions: noMentions()}
		_, err := b.sess.RequestWithBucketID(http.MethodPatch, uri, data, uri, opts...)
		return err
	}
}

// followup posts a further message for i.
func (b *Bot) followup(ctx context.Context, i *discordgo.Interaction, content string, comps []discordgo.MessageComponent, flags discordgo.MessageFlags) error {
	return b.retryCall(ctx, opFollowup, func(opts ...discordgo.RequestOption) error {
		_, err := b.sess.FollowupMessageCreate(i, true, &discordgo.WebhookParams{
			Content:         content,
			Components:      comps,
			Flags:           flags,
			AllowedMentions: noMentions(),
		}, opts...)
		return err
	})
}

// deleteOriginal removes i's response, once, best effort.
func (b *Bot) deleteOriginal(ctx context.Context, i *discordgo.Interaction) error {
	return b.once(ctx, opDelete, requestTimeout, func(opts ...discordgo.RequestOption) error {
		uri := discordgo.EndpointWebhookMessage(i.AppID, i.Token, "@original")
		_, err := b.sess.RequestWithBucketID(http.MethodDelete, uri, nil, uri, opts...)
		return err
	})
}

// sendMessage posts a message to a channel, optionally as a reply, with
// link previews suppressed, and returns its id.
func (b *Bot) sendMessage(ctx context.Context, channelID, content string, comps []discordgo.MessageComponent, ref *discordgo.MessageReference) (string, error) {
	var id string
	err := b.retryCall(ctx, opSend, b.sendMessageCall(channelID, content, comps, ref, &id))
	return id, err
}

func (b *Bot) sendMessageCall(channelID, content string, comps []discordgo.MessageComponent, ref *discordgo.MessageReference, id *string) func(...discordgo.RequestOption) error {
	return func(opts ...discordgo.RequestOption) error {
		m, err := b.sess.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{
			Content:         content,
			Components:      comps,
			Reference:       ref,
			AllowedMentions: noMentions(),
			Flags:           discordgo.MessageFlagsSuppressEmbeds,
		}, opts...)
		if err == nil && m != nil {
			*id = m.ID
		}
		return err
	}
}

// editMessageCall is a call that replaces a channel message's content (and
// components, if comps is not nil).
func (b *Bot) editMessageCall(channelID, messageID, content string, comps *[]discordgo.MessageComponent) func(...discordgo.RequestOption) error {
	return func(opts ...discordgo.RequestOption) error {
		_, err := b.sess.ChannelMessageEditComplex(&discordgo.MessageEdit{
			ID:              messageID,
			Channel:         channelID,
			Content:         &content,
			Components:      comps,
			AllowedMentions: noMentions(),
		}, opts...)
		return err
	}
}

// typing keeps "Parley is typing..." showing in a channel until ctx ends:
// Discord shows it for ten seconds per call.
func (b *Bot) typing(ctx context.Context, channelID string) {
	t := time.NewTicker(8 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.typingOnce(ctx, channelID)
	}
}

func (b *Bot) typingOnce(ctx context.Context, channelID string) {
	err := b.once(ctx, opTyping, 2*time.Second, func(opts ...discordgo.RequestOption) error {
		return b.sess.ChannelTyping(channelID, opts...)
	})
	if err != nil && ctx.Err() == nil {
		b.log.Debug("typing indicator", slog.String(keyErr, safeErr(err)))
	}
}
