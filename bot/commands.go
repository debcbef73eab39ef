package bot

import (
	"context"
	"log/slog"
	"slices"

	"github.com/bwmarrin/discordgo"
)

// Command, subcommand and option names.
const (
	cmdAsk    = "ask"
	cmdSource = "source"
	cmdGaps   = "gaps"

	subAdd     = "add"
	subAddText = "add-text"
	subList    = "list"
	subShow    = "show"
	subRemove  = "remove"
	subLog     = "log"

	optQuestion = "question"
	optURL      = "url"
	optPage     = "page"
	optID       = "id"
)

// moderatorPerms is the default_member_permissions of moderator commands:
// Discord hides them from members without Manage Messages, though server
// admins can change that, so handlers check again (isModerator).
const moderatorPerms int64 = discordgo.PermissionManageMessages

// commandDefinitions are the application commands Parley registers.
func commandDefinitions(maxQuestion int) []*discordgo.ApplicationCommand {
	perms := moderatorPerms
	noDM := false
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	one := 1.0
	minLen := 1
	maxLen := min(maxQuestion, 6000) // Discord's cap for string options
	return []*discordgo.ApplicationCommand{
		{
			Name:        cmdAsk,
			Description: "Ask about the ceasefire and hostage talks; answers cite curated news sources",
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: optQuestion,
				Description: "Your question", Required: true, MinLength: &minLen, MaxLength: maxLen,
			}},
		},
		{
			Name:                     cmdSource,
			Description:              "Manage the curated news sources (moderators)",
			DefaultMemberPermissions: &perms,
			DMPermission:             &noDM,
			Contexts:                 &guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: subAdd, Description: "Add an article by its URL",
					Options: []*discordgo.ApplicationCommandOption{{
						Type: discordgo.ApplicationCommandOptionString, Name: optURL,
						Description: "The article's address (public http or https)", Required: true, MaxLength: 2000,
					}}},
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: subAddText, Description: "Add an article by pasting its text"},
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: subList, Description: "List the curated articles, newest first",
					Options: []*discordgo.ApplicationCommandOption{{
						Type: discordgo.ApplicationCommandOptionInteger, Name: optPage, Description: "Page number (default 1)", MinValue: &one,
					}}},
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: subShow, Description: "Show one article",
					Options: []*discordgo.ApplicationCommandOption{{
						Type: discordgo.ApplicationCommandOptionInteger, Name: optID, Description: "The article's number", Required: true, MinValue: &one,
					}}},
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: subRemove, Description: "Take an article out of the answers (recorded; add it again to restore)",
					Options: []*discordgo.ApplicationCommandOption{{
						Type: discordgo.ApplicationCommandOptionInteger, Name: optID, Description: "The article's number", Required: true, MinValue: &one,
					}}},
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: subLog, Description: "Who added or removed which article, and when"},
			},
		},
		{
			Name:                     cmdGaps,
			Description:              "Recent questions Parley refused or readers rated down (moderators)",
			DefaultMemberPermissions: &perms,
			DMPermission:             &noDM,
			Contexts:                 &guildOnly,
		},
	}
}

// onInteraction is discordgo's INTERACTION_CREATE handler. It runs in its
// own goroutine, with no context: each interaction gets one derived from
// the bot's.
func (b *Bot) onInteraction(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
	i := ic.Interaction
	if i == nil {
		return
	}
	if b.cfg.OnInteraction != nil {
		b.cfg.OnInteraction(interactionKind(i))
	}
	if !b.begin() {
		// Shutting down: say so rather than let the command time out. The
		// bot's context may be gone; respond bounds the call itself.
		if i.Type == discordgo.InteractionApplicationCommand || i.Type == discordgo.InteractionMessageComponent {
			b.replyPrivately(context.Background(), i, "Parley is restarting. Please try again in a minute.")
		}
		return
	}
	defer b.wg.Done()
	ctx := b.work
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		switch name := i.ApplicationCommandData().Name; name {
		case cmdAsk:
			b.handleAsk(ctx, i)
		case cmdSource:
			b.handleSource(ctx, i)
		case cmdGaps:
			b.handleGaps(ctx, i)
		default:
			b.replyPrivately(ctx, i, "I don't know that command any more. Try /ask.")
		}
	case discordgo.InteractionMessageComponent:
		b.handleFeedback(ctx, i)
	case discordgo.InteractionModalSubmit:
		b.handleModal(ctx, i)
	}
}

// interactionKind names i for Config.OnInteraction, from a fixed set.
func interactionKind(i *discordgo.Interaction) string {
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		switch name := i.ApplicationCommandData().Name; name {
		case cmdAsk, cmdSource, cmdGaps:
			return name
		}
		return "unknown"
	case discordgo.InteractionMessageComponent:
		return "feedback"
	case discordgo.InteractionModalSubmit:
		return "modal"
	}
	return "other"
}

// userID is the id of whoever triggered i, in a guild or a DM.
func userID(i *discordgo.Interaction) string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
}

// actor names a Discord user in the store's records.
func actor(user string) string { return "discord:" + user }

// place names where a question was asked, for the record of answers.
func place(guildID, channelID string) string {
	if guildID == "" {
		return "discord:dm/" + channelID
	}
	return "discord:" + guildID + "/" + channelID
}

// isModerator reports whether i comes from a guild member allowed to manage
// sources: one with Manage Messages or Administrator in the channel, or
// holding a configured moderator role. DMs never qualify.
func (b *Bot) isModerator(i *discordgo.Interaction) bool {
	if i.Member == nil || i.GuildID == "" {
		return false
	}
	p := i.Member.Permissions
	if p&discordgo.PermissionManageMessages != 0 || p&discordgo.PermissionAdministrator != 0 {
		return true
	}
	for _, r := range i.Member.Roles {
		if slices.Contains(b.cfg.ModRoleIDs, r) {
			return true
		}
	}
	return false
}

// requireModerator refuses i privately unless it comes from a moderator.
func (b *Bot) requireModerator(ctx context.Context, i *discordgo.Interaction, what string) bool {
	if b.isModerator(i) {
		return true
	}
	msg := "Only moderators can use " + what + ": it needs the Manage Messages permission or a moderator role."
	if i.Member == nil {
		msg = what + " works only in a server, not in direct messages."
	}
	b.log.Info("moderator command refused", slog.String(keyCommand, what), slog.String(keyUser, userID(i)))
	if err := b.replyPrivately(ctx, i, msg); err != nil {
		b.log.Warn("refusal not delivered", slog.String(keyErr, safeErr(err)))
	}
	return false
}
