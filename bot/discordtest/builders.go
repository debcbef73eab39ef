package discordtest

import (
	"sort"
	"time"

	"github.com/bwmarrin/discordgo"
)

// InteractionOption adjusts an interaction built by SlashCommand, ButtonClick or ModalSubmit.
type InteractionOption func(*discordgo.Interaction)

// newInteraction builds an interaction in DefaultGuildID/DefaultChannelID by a member
// DefaultUserID without permissions, then applies opts.
func newInteraction(typ discordgo.InteractionType, data discordgo.InteractionData, opts []InteractionOption) *discordgo.Interaction {
	i := &discordgo.Interaction{
		Type:      typ,
		Data:      data,
		GuildID:   DefaultGuildID,
		ChannelID: DefaultChannelID,
		Member:    Member(DefaultUserID, 0),
		Locale:    discordgo.EnglishUS,
		Context:   discordgo.InteractionContextGuild,
	}
	for _, o := range opts {
		o(i)
	}
	return i
}

// SlashCommand builds a chat-input command interaction. Give it options with Options.
func SlashCommand(name string, opts ...InteractionOption) *discordgo.Interaction {
	data := discordgo.ApplicationCommandInteractionData{Name: name, CommandType: discordgo.ChatApplicationCommand}
	return newInteraction(discordgo.InteractionApplicationCommand, data, opts)
}

// ButtonClick builds a button press on a component with customID.
func ButtonClick(customID string, opts ...InteractionOption) *discordgo.Interaction {
	data := discordgo.MessageComponentInteractionData{CustomID: customID, ComponentType: discordgo.ButtonComponent}
	return newInteraction(discordgo.InteractionMessageComponent, data, opts)
}

// ModalSubmit builds a modal submission whose text inputs, one per action row, carry values
// keyed by their custom id (in key order).
func ModalSubmit(customID string, values map[string]string, opts ...InteractionOption) *discordgo.Interaction {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	data := discordgo.ModalSubmitInteractionData{CustomID: customID}
	for _, k := range keys {
		data.Components = append(data.Components, &discordgo.ActionsRow{
			Components: []discordgo.MessageComponent{&discordgo.TextInput{CustomID: k, Value: values[k]}},
		})
	}
	return newInteraction(discordgo.InteractionModalSubmit, data, opts)
}

// Options appends command options to a SlashCommand.
func Options(opts ...*discordgo.ApplicationCommandInteractionDataOption) InteractionOption {
	return func(i *discordgo.Interaction) {
		if d, ok := i.Data.(discordgo.ApplicationCommandInteractionData); ok {
			d.Options = append(d.Options, opts...)
			i.Data = d
		}
	}
}

// InGuild sets the guild of the interaction and of its member.
func InGuild(guildID string) InteractionOption {
	return func(i *discordgo.Interaction) {
		i.GuildID = guildID
		if i.Member != nil {
			i.Member.GuildID = guildID
		}
	}
}

// InChannel sets the channel the interaction comes from.
func InChannel(channelID string) InteractionOption {
	return func(i *discordgo.Interaction) { i.ChannelID = channelID }
}

// ByMember makes m the invoking guild member (see Member).
func ByMember(m *discordgo.Member) InteractionOption {
	return func(i *discordgo.Interaction) {
		i.Member, i.User = m, nil
		if i.GuildID == "" {
			i.GuildID = DefaultGuildID
			i.Context = discordgo.InteractionContextGuild
		}
		m.GuildID = i.GuildID
	}
}

// InDM makes the interaction come from a DM with userID: User is set, Member and GuildID are
// empty, as Discord sends it.
func InDM(userID string) InteractionOption {
	return func(i *discordgo.Interaction) {
		i.Member, i.GuildID = nil, ""
		i.User = &discordgo.User{ID: userID, Username: "user-" + userID}
		i.Context = discordgo.InteractionContextBotDM
	}
}

// OnMessage sets the message that carried the clicked component.
func OnMessage(m *discordgo.Message) InteractionOption {
	return func(i *discordgo.Interaction) { i.Message = m }
}

// Member builds a guild member of DefaultGuildID with the given permission bits (as Discord
// computes them for the interaction's channel) and role ids.
func Member(userID string, perms int64, roles ...string) *discordgo.Member {
	if roles == nil {
		roles = []string{}
	}
	return &discordgo.Member{
		GuildID:     DefaultGuildID,
		User:        &discordgo.User{ID: userID, Username: "user-" + userID},
		Roles:       roles,
		Permissions: perms,
		JoinedAt:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// String builds a string command option.
func String(name, value string) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionString, Value: value}
}

// Int builds an integer command option.
func Int(name string, value int64) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionInteger, Value: value}
}

// Bool builds a boolean command option.
func Bool(name string, value bool) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionBoolean, Value: value}
}

// Subcommand builds a subcommand option holding opts.
func Subcommand(name string, opts ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}
}

// SubcommandGroup builds a subcommand group option holding subcommands.
func SubcommandGroup(name string, subs ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionSubCommandGroup, Options: subs}
}
