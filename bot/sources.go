package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bwmarrin/discordgo"

	"parley/knowledge"
	"parley/knowledge/webpage"
)

// The add-text modal and its fields.
const (
	modalAddText = "source:add-text"
	fieldTitle   = "title"
	fieldURL     = "url"
	fieldDate    = "date"
	fieldOutlet  = "outlet"
	fieldText    = "text"
)

const listPageSize = 10

// handleSource serves /source. Every use is checked for moderator rights
// here, whatever Discord's default permissions let through. Replies are
// private to the moderator.
func (b *Bot) handleSource(ctx context.Context, i *discordgo.Interaction) {
	if !b.requireModerator(ctx, i, "/source") {
		return
	}
	data := i.ApplicationCommandData()
	if len(data.Options) == 0 || data.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand {
		b.replyPrivately(ctx, i, "Use one of /source add, add-text, list, show, remove or log.")
		return
	}
	sub := data.Options[0]
	if sub.Name == subAddText {
		// A modal must be the first response: no deferring.
		if err := b.respond(ctx, i, addTextModal()); err != nil {
			b.log.Warn("could not open the add-text form", slog.String(keyErr, safeErr(err)))
		}
		return
	}
	if err := b.deferReply(ctx, i, true); err != nil {
		b.log.Warn("could not acknowledge /source", slog.String(keyErr, safeErr(err)))
		return
	}
	who := actor(userID(i))
	timeout := commandTimeout
	if sub.Name == subAdd {
		timeout = fetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var msg string
	var err error
	switch sub.Name {
	case subAdd:
		msg, err = b.sourceAdd(ctx, stringOption(sub, optURL), who)
	case subList:
		page := int(intOption(sub, optPage))
		msg, err = b.sourceList(ctx, max(page, 1))
	case subShow:
		msg, err = b.sourceShow(ctx, intOption(sub, optID))
	case subRemove:
		msg, err = b.sourceRemove(ctx, intOption(sub, optID), who)
	case subLog:
		msg, err = b.sourceLog(ctx)
	default:
		msg = "Use one of /source add, add-text, list, show, remove or log."
	}
	if err != nil {
		msg = b.userError(err, "/source "+sub.Name)
	}
	if err := b.editOriginal(ctx, i, clipMessage(msg), nil); err != nil {
		b.log.Warn("/source reply not delivered", slog.String(keyCommand, sub.Name), slog.String(keyErr, safeErr(err)))
	}
}

func stringOption(o *discordgo.ApplicationCommandInteractionDataOption, name string) string {
	for _, c := range o.Options {
		if c.Name == name && c.Type == discordgo.ApplicationCommandOptionString {
			return strings.TrimSpace(c.StringValue())
		}
	}
	return ""
}

func intOption(o *discordgo.ApplicationCommandInteractionDataOption, name string) int64 {
	for _, c := range o.Options {
		if c.Name == name && c.Type == discordgo.ApplicationCommandOptionInteger {
			return c.IntValue()
		}
	}
	return 0
}

func (b *Bot) sourceAdd(ctx context.Context, rawURL, who string) (string, error) {
	if b.deps.Fetcher == nil {
		return "Adding articles by URL is turned off here; use /source add-text.", nil
	}
	if rawURL == "" {
		return "Give the article's URL, e.g. /source add url:https://example.com/news/talks", nil
	}
	res, err := b.deps.Sources.AddURL(ctx, b.deps.Fetcher, rawURL, who)
	if err != nil {
		return "", err
	}
	b.log.Info("source added", slog.String(keyUser, who), slog.Int64(keyArticle, res.Article.ID), slog.Bool(keyCreated, res.Created))
	return addedMessage(res), nil
}

func addedMessage(res knowledge.AddResult) string {
	a := res.Article
	title := escapeMarkdown(clip(oneLine(a.Title), maxTitle))
	switch {
	case res.Created:
		return fmt.Sprintf("Added #%d “%s” (%s, %s), %d passages.", a.ID, title, orDash(a.Outlet), dateOrUndated(a), a.Passages)
	case res.Reactivated:
		return fmt.Sprintf("Restored #%d “%s”, which had been removed.", a.ID, title)
	}
	return fmt.Sprintf("Already stored as #%d “%s”; nothing changed.", a.ID, title)
}

func (b *Bot) sourceList(ctx context.Context, page int) (string, error) {
	arts, total, err := b.deps.Sources.List(ctx, knowledge.ListOptions{Limit: listPageSize, Offset: (page - 1) * listPageSize})
	if err != nil {
		return "", err
	}
	pages := max(1, (total+listPageSize-1)/listPageSize)
	if len(arts) == 0 {
		if total == 0 {
			return "No articles yet. Add one with /source add or /source add-text.", nil
		}
		return fmt.Sprintf("There is no page %d: the list has %d page(s).", page, pages), nil
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**Articles** — page %d of %d (%d in all, newest first)", page, pages, total)
	for _, a := range arts {
		line := fmt.Sprintf("\n`#%d` %s — %s · %s", a.ID, escapeMarkdown(clip(oneLine(a.Title), 90)),
			escapeMarkdown(orDash(clip(oneLine(a.Outlet), 40))), dateOrUndated(a))
		if link := safeLink(a.URL); link != "" && len(link) < 200 {
			line += " · " + link
		}
		sb.WriteString(line)
	}
	if page < pages {
		fmt.Fprintf(&sb, "\n-# Next: /source list page:%d", page+1)
	}
	return sb.String(), nil
}

func (b *Bot) sourceShow(ctx context.Context, id int64) (string, error) {
	a, err := b.deps.Sources.Get(ctx, id)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**#%d %s**\n", a.ID, escapeMarkdown(clip(oneLine(a.Title), maxTitle)))
	fmt.Fprintf(&sb, "Outlet: %s · Published: %s", escapeMarkdown(orDash(clip(oneLine(a.Outlet), maxOutlet))), dateOrUndated(a))
	if a.Author != "" {
		fmt.Fprintf(&sb, " · By %s", escapeMarkdown(clip(oneLine(a.Author), maxOutlet)))
	}
	if link := safeLink(a.URL); link != "" {
		fmt.Fprintf(&sb, "\nLink: %s", link)
	}
	fmt.Fprintf(&sb, "\nAdded by %s on %s · %d passages · %s", escapeMarkdown(a.AddedBy), a.AddedAt.Format("2006-01-02 15:04 MST"), a.Passages, a.Status)
	if a.Status == knowledge.StatusRemoved {
		fmt.Fprintf(&sb, " by %s on %s", escapeMarkdown(a.RemovedBy), a.RemovedAt.Format("2006-01-02 15:04 MST"))
	}
	if text := strings.TrimSpace(a.Text); text != "" {
		room := maxMessage - textLen(sb.String()) - 10
		sb.WriteString("\n>>> " + clip(escapeMarkdown(text), min(room, 1200)))
	}
	return sb.String(), nil
}

func (b *Bot) sourceRemove(ctx context.Context, id int64, who string) (string, error) {
	a, err := b.deps.Sources.Remove(ctx, id, who)
	if err != nil {
		return "", err
	}
	b.log.Info("source removed", slog.String(keyUser, who), slog.Int64(keyArticle, a.ID))
	return fmt.Sprintf("Removed #%d “%s” from the answers. Adding it again restores it.", a.ID,
		escapeMarkdown(clip(oneLine(a.Title), maxTitle))), nil
}

func (b *Bot) sourceLog(ctx context.Context) (string, error) {
	changes, err := b.deps.Sources.Changes(ctx, 20)
	if err != nil {
		return "", err
	}
	if len(changes) == 0 {
		return "No changes recorded yet.", nil
	}
	var sb strings.Builder
	sb.WriteString("**Recent changes**, newest first")
	for _, c := range changes {
		fmt.Fprintf(&sb, "\n%s · %s `#%d` %s · by %s", c.At.Format("2006-01-02 15:04"), c.Action, c.ArticleID,
			escapeMarkdown(clip(oneLine(c.Title), 70)), escapeMarkdown(c.Actor))
	}
	return sb.String(), nil
}

// addTextModal is the form /source add-text opens.
func addTextModal() *discordgo.InteractionResponse {
	row := func(in discordgo.TextInput) discordgo.MessageComponent {
		return discordgo.ActionsRow{Components: []discordgo.MessageComponent{in}}
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseModal,
		Data: &discordgo.InteractionResponseData{
			CustomID:        modalAddText,
			Title:           "Add an article",
			AllowedMentions: noMentions(),
			Components: []discordgo.MessageComponent{
				row(discordgo.TextInput{CustomID: fieldTitle, Label: "Title", Style: discordgo.TextInputShort, Required: true, MaxLength: 500}),
				row(discordgo.TextInput{CustomID: fieldURL, Label: "Original URL (optional)", Style: discordgo.TextInputShort, MaxLength: 2000}),
				row(discordgo.TextInput{CustomID: fieldDate, Label: "Published (YYYY-MM-DD, optional)", Style: discordgo.TextInputShort, MaxLength: 40, Placeholder: "2025-03-08"}),
				row(discordgo.TextInput{CustomID: fieldOutlet, Label: "Outlet (optional)", Style: discordgo.TextInputShort, MaxLength: 200}),
				row(discordgo.TextInput{CustomID: fieldText, Label: "Text", Style: discordgo.TextInputParagraph, Required: true, MaxLength: 4000}),
			},
		},
	}
}

// handleModal stores the article submitted through the add-text form,
// after checking the submitter's rights again.
func (b *Bot) handleModal(ctx context.Context, i *discordgo.Interaction) {
	data := i.ModalSubmitData()
	if data.CustomID != modalAddText {
		b.replyPrivately(ctx, i, "That form is no longer in use.")
		return
	}
	if !b.requireModerator(ctx, i, "/source add-text") {
		return
	}
	if err := b.deferReply(ctx, i, true); err != nil {
		b.log.Warn("could not acknowledge the add-text form", slog.String(keyErr, safeErr(err)))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	v := modalValues(data.Components)
	who := actor(userID(i))
	msg, err := func() (string, error) {
		published, err := knowledge.ParseDate(v[fieldDate])
		if err != nil {
			return "", err
		}
		res, err := b.deps.Sources.Add(ctx, knowledge.NewArticle{
			URL: strings.TrimSpace(v[fieldURL]), Title: v[fieldTitle], Outlet: v[fieldOutlet],
			PublishedAt: published, Text: v[fieldText], Origin: knowledge.OriginText, AddedBy: who,
		})
		if err != nil {
			return "", err
		}
		b.log.Info("source added from text", slog.String(keyUser, who), slog.Int64(keyArticle, res.Article.ID), slog.Bool(keyCreated, res.Created))
		return addedMessage(res), nil
	}()
	if err != nil {
		msg = b.userError(err, "/source add-text")
	}
	if err := b.editOriginal(ctx, i, clipMessage(msg), nil); err != nil {
		b.log.Warn("add-text reply not delivered", slog.String(keyErr, safeErr(err)))
	}
}

// modalValues collects a modal's text inputs by custom id.
func modalValues(comps []discordgo.MessageComponent) map[string]string {
	out := map[string]string{}
	var walk func([]discordgo.MessageComponent)
	walk = func(cs []discordgo.MessageComponent) {
		for _, c := range cs {
			switch c := c.(type) {
			case *discordgo.ActionsRow:
				walk(c.Components)
			case discordgo.ActionsRow:
				walk(c.Components)
			case *discordgo.TextInput:
				out[c.CustomID] = c.Value
			case discordgo.TextInput:
				out[c.CustomID] = c.Value
			}
		}
	}
	walk(comps)
	return out
}

// handleGaps serves /gaps: recent questions refused or rated down.
func (b *Bot) handleGaps(ctx context.Context, i *discordgo.Interaction) {
	if !b.requireModerator(ctx, i, "/gaps") {
		return
	}
	if err := b.deferReply(ctx, i, true); err != nil {
		b.log.Warn("could not acknowledge /gaps", slog.String(keyErr, safeErr(err)))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var msg string
	gaps, err := b.deps.Sources.Gaps(ctx, 15)
	switch {
	case err != nil:
		msg = b.userError(err, "/gaps")
	case len(gaps) == 0:
		msg = "No gaps recorded: every question so far was answered and none was rated down."
	default:
		var sb strings.Builder
		sb.WriteString("**Questions the sources did not cover well**, newest first")
		for _, g := range gaps {
			why := "refused"
			if !g.Refused {
				why = fmt.Sprintf("rated down (%d 👎, %d 👍)", g.Down, g.Up)
			}
			fmt.Fprintf(&sb, "\n%s · %s · %s: %s", g.AskedAt.Format("2006-01-02 15:04"), why, escapeMarkdown(g.Asker),
				escapeMarkdown(clip(oneLine(g.Question), 120)))
		}
		msg = sb.String()
	}
	if err := b.editOriginal(ctx, i, clipMessage(msg), nil); err != nil {
		b.log.Warn("/gaps reply not delivered", slog.String(keyErr, safeErr(err)))
	}
}

// userError turns an error from the store or the fetcher into words for a
// Discord user: the one place this happens. Anything unexpected is logged
// and shown as a short apology, never as the error itself.
func (b *Bot) userError(err error, op string) string {
	switch {
	case errors.Is(err, knowledge.ErrNotFound):
		return "There is nothing with that number."
	case errors.Is(err, webpage.ErrForbiddenHost):
		return "Refused: that address is on a private, loopback or link-local network, which Parley never fetches."
	case errors.Is(err, webpage.ErrBadURL):
		return "Refused: only public http and https URLs on the standard ports can be added."
	case errors.Is(err, webpage.ErrTooManyRedirects):
		return "That address redirects too many times."
	case errors.Is(err, webpage.ErrContentType):
		return "That address is not a web page or plain text."
	case errors.Is(err, webpage.ErrTooLarge):
		return "That page is too large to add."
	case errors.Is(err, webpage.ErrNoArticle):
		return "I could not find an article on that page. Try /source add-text and paste it."
	case errors.Is(err, webpage.ErrStatus):
		return "The site answered with an error; check the address or try again later."
	case errors.Is(err, knowledge.ErrInvalid):
		msg := strings.Replace(err.Error(), knowledge.ErrInvalid.Error()+": ", "", 1)
		return "Not stored: " + clip(msg, 300)
	case errors.Is(err, context.DeadlineExceeded):
		b.log.Warn("timed out", slog.String(keyOp, op), slog.String(keyErr, safeErr(err)))
		return "That took too long. Please try again."
	}
	b.log.Error("command failed", slog.String(keyOp, op), slog.String(keyErr, safeErr(err)))
	return "Sorry — something went wrong. The details are in Parley's log."
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func dateOrUndated(a knowledge.Article) string {
	if a.PublishedAt.IsZero() {
		return "undated"
	}
	return a.PublishedAt.Format("2006-01-02")
}
