package discordtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// Message is a message as the fake stores it: what a user would see, plus how it got there.
type Message struct {
	ID         string
	ChannelID  string // for interaction responses, the interaction's channel
	GuildID    string
	Author     *discordgo.User
	Content    string
	Embeds     []*discordgo.MessageEmbed
	Components []discordgo.MessageComponent
	Flags      discordgo.MessageFlags
	Mentions   []*discordgo.User // users mentioned, for messages made by MessageCreate
	Reference  *discordgo.MessageReference
	// AllowedMentions is the allowed_mentions of the last write (create or edit); nil if that
	// write had none.
	AllowedMentions  *discordgo.MessageAllowedMentions
	Files            int    // file parts in the last write
	InteractionToken string // set on interaction responses (@original and follow-ups)
	// Deferred is true for an @original created by a deferred callback (type 5) and not edited
	// since: the user sees "<bot> is thinking...".
	Deferred bool
	Edits    int
	Deleted  bool
	Created  time.Time
}

// Ephemeral reports whether only the invoking user sees the message.
func (m Message) Ephemeral() bool { return m.Flags&discordgo.MessageFlagsEphemeral != 0 }

func (m *Message) clone() Message {
	c := *m
	c.Embeds = slices.Clone(m.Embeds)
	c.Components = slices.Clone(m.Components)
	c.Mentions = slices.Clone(m.Mentions)
	return c
}

// Callback is one interaction callback (POST /interactions/{id}/{token}/callback).
type Callback struct {
	Type            discordgo.InteractionResponseType
	Content         string
	Embeds          []*discordgo.MessageEmbed
	Components      []discordgo.MessageComponent
	Flags           discordgo.MessageFlags
	AllowedMentions *discordgo.MessageAllowedMentions
	CustomID        string // modals
	Title           string // modals
	Request         Request
}

type interactionState struct {
	id        string
	channelID string
	guildID   string
	message   *discordgo.Message // the message carrying the component, if any
	sent      time.Time          // zero for tokens the fake did not hand out
	acked     bool
	callbacks []Callback
	original  string   // message id of @original, "" if none
	followups []string // message ids
}

// Original returns a copy of the interaction's @original message, as last created or edited.
func (s *Server) Original(token string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.interactions[token]
	if st == nil || st.original == "" {
		return Message{}, false
	}
	return s.messages[st.original].clone(), true
}

// Followups returns copies of the interaction's follow-up messages, oldest first, deleted ones
// included (with Deleted set).
func (s *Server) Followups(token string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.interactions[token]
	if st == nil {
		return nil
	}
	out := make([]Message, 0, len(st.followups))
	for _, id := range st.followups {
		out = append(out, s.messages[id].clone())
	}
	return out
}

// Callbacks returns the interaction's callbacks, oldest first; only the first was accepted.
func (s *Server) Callbacks(token string) []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.interactions[token]
	if st == nil {
		return nil
	}
	out := slices.Clone(st.callbacks)
	for i := range out {
		out[i].Request = cloneRequests([]Request{out[i].Request})[0]
	}
	return out
}

// Messages returns copies of the messages a channel shows, oldest first: those sent to it by
// the bot, by MessageCreate, and non-ephemeral interaction responses in it. Deleted and
// ephemeral messages are left out, as GET /channels/{id}/messages does.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelMessagesLocked(channelID)
}

func (s *Server) channelMessagesLocked(channelID string) []Message {
	var out []Message
	for _, id := range s.order {
		m := s.messages[id]
		if m.ChannelID == channelID && !m.Deleted && !m.Ephemeral() {
			out = append(out, m.clone())
		}
	}
	return out
}

// Message returns a copy of any stored message by id, deleted and ephemeral ones included.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return m.clone(), true
}

func (s *Server) addMessageLocked(m *Message) {
	if m.ID == "" {
		m.ID = s.newIDLocked()
	}
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
}

// SendInteraction dispatches INTERACTION_CREATE for i and returns its token. It fills in
// place, when empty: ID, Token, AppID, Version, Type (from Data), and the command id of an
// ApplicationCommandInteractionData whose name is registered. The acknowledgement deadline
// (WithAckDeadline) starts now. For a component interaction with i.Message set, callbacks of
// type 6 and 7 and @original refer to that message. Like Dispatch, it fails the test when no
// client is connected.
func (s *Server) SendInteraction(i *discordgo.Interaction) string {
	s.tb.Helper()
	s.mu.Lock()
	if i.ID == "" {
		i.ID = s.newIDLocked()
	}
	if i.Token == "" {
		i.Token = "itoken-" + i.ID
	}
	if i.AppID == "" {
		i.AppID = s.cfg.appID
	}
	if i.Version == 0 {
		i.Version = 1
	}
	if i.Type == 0 && i.Data != nil {
		i.Type = i.Data.Type()
	}
	if d, ok := i.Data.(discordgo.ApplicationCommandInteractionData); ok && d.ID == "" {
		d.ID = s.commandIDLocked(i.GuildID, d.Name)
		i.Data = d
	}
	st := s.interactionLocked(i.Token)
	st.id, st.channelID, st.guildID, st.sent = i.ID, i.ChannelID, i.GuildID, time.Now()
	if i.Message != nil {
		m := *i.Message
		st.message = &m
	}
	s.mu.Unlock()

	raw, err := marshalInteraction(i)
	if err != nil {
		s.tb.Errorf("discordtest: SendInteraction: %v", err)
		return i.Token
	}
	s.Dispatch("INTERACTION_CREATE", raw)
	return i.Token
}

func (s *Server) commandIDLocked(guildID, name string) string {
	for _, scope := range []string{guildID, ""} {
		for _, c := range s.commands[scope] {
			if c.Name == name {
				return c.ID
			}
		}
	}
	return ""
}

func (s *Server) interactionLocked(token string) *interactionState {
	st := s.interactions[token]
	if st == nil {
		st = &interactionState{}
		s.interactions[token] = st
	}
	return st
}

// marshalInteraction encodes i as Discord would send it. discordgo does not marshal the
// components of ModalSubmitInteractionData (they are tagged "-"), so they are added here.
func marshalInteraction(i *discordgo.Interaction) (json.RawMessage, error) {
	var modal *discordgo.ModalSubmitInteractionData
	switch d := i.Data.(type) {
	case discordgo.ModalSubmitInteractionData:
		modal = &d
	case *discordgo.ModalSubmitInteractionData:
		modal = d
	}
	raw, err := json.Marshal(i)
	if err != nil || modal == nil {
		return raw, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	data, err := json.Marshal(struct {
		CustomID   string                       `json:"custom_id"`
		Components []discordgo.MessageComponent `json:"components"`
	}{modal.CustomID, modal.Components})
	if err != nil {
		return nil, err
	}
	fields["data"] = data
	return json.Marshal(fields)
}

// MessageCreate stores m as a message in its channel and dispatches MESSAGE_CREATE for it. It
// fills ID and Timestamp when empty, and Author with DefaultUserID when nil. UserMessage
// builds a typical m.
func (s *Server) MessageCreate(m *discordgo.Message) *discordgo.Message {
	s.tb.Helper()
	if m.Author == nil {
		m.Author = &discordgo.User{ID: DefaultUserID, Username: "user-" + DefaultUserID}
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = time.Now().UTC()
	}
	s.mu.Lock()
	stored := &Message{
		ID:        m.ID,
		ChannelID: m.ChannelID,
		GuildID:   m.GuildID,
		Author:    m.Author,
		Content:   m.Content,
		Embeds:    m.Embeds,
		Flags:     m.Flags,
		Mentions:  m.Mentions,
		Reference: m.MessageReference,
		Created:   m.Timestamp,
	}
	s.addMessageLocked(stored)
	m.ID = stored.ID
	s.mu.Unlock()
	s.Dispatch("MESSAGE_CREATE", m)
	return m
}

// UserMessage builds a guild message from userID in channelID (guild DefaultGuildID) that
// mentions the given user ids; write the mentions into content yourself ("<@id>").
func UserMessage(channelID, userID, content string, mentionIDs ...string) *discordgo.Message {
	m := &discordgo.Message{
		ChannelID: channelID,
		GuildID:   DefaultGuildID,
		Author:    &discordgo.User{ID: userID, Username: "user-" + userID},
		Content:   content,
		Type:      discordgo.MessageTypeDefault,
		Mentions:  []*discordgo.User{},
	}
	for _, id := range mentionIDs {
		m.Mentions = append(m.Mentions, &discordgo.User{ID: id, Username: "user-" + id})
	}
	return m
}

// write is a parsed message body (create, edit, or callback data). Nil fields were absent or
// null.
type write struct {
	Content         *string
	Embeds          *[]*discordgo.MessageEmbed
	Components      *[]discordgo.MessageComponent
	Flags           *discordgo.MessageFlags
	AllowedMentions *discordgo.MessageAllowedMentions
	Reference       *discordgo.MessageReference
	CustomID        string
	Title           string
	Files           int
}

func parseWrite(raw []byte, files int) (write, error) {
	w := write{Files: files}
	if len(raw) == 0 || string(raw) == "null" {
		return w, nil
	}
	var body struct {
		Content         *string                           `json:"content"`
		Embeds          *[]*discordgo.MessageEmbed        `json:"embeds"`
		Components      json.RawMessage                   `json:"components"`
		Flags           *discordgo.MessageFlags           `json:"flags"`
		AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
		Reference       *discordgo.MessageReference       `json:"message_reference"`
		CustomID        string                            `json:"custom_id"`
		Title           string                            `json:"title"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return w, err
	}
	w.Content, w.Embeds, w.Flags = body.Content, body.Embeds, body.Flags
	w.AllowedMentions, w.Reference = body.AllowedMentions, body.Reference
	w.CustomID, w.Title = body.CustomID, body.Title
	if len(body.Components) > 0 && string(body.Components) != "null" {
		// discordgo.Message knows how to decode the MessageComponent interface.
		var m discordgo.Message
		if err := json.Unmarshal([]byte(`{"components":`+string(body.Components)+`}`), &m); err != nil {
			return w, err
		}
		w.Components = &m.Components
	}
	return w, nil
}

func (w write) apply(m *Message) {
	if w.Content != nil {
		m.Content = *w.Content
	}
	if w.Embeds != nil {
		m.Embeds = *w.Embeds
	}
	if w.Components != nil {
		m.Components = *w.Components
	}
	if w.Flags != nil {
		m.Flags = *w.Flags
	}
	if w.Reference != nil {
		m.Reference = w.Reference
	}
	m.AllowedMentions = w.AllowedMentions
	m.Files = w.Files
}

// formError is a 400 "Invalid Form Body" (50035) or another 400 API error.
type formError struct {
	code    int
	message string
	errors  map[string]any
}

func invalidField(path []string, code, msg string) *formError {
	var node any = map[string]any{"_errors": []map[string]string{{"code": code, "message": msg}}}
	for i := len(path) - 1; i >= 0; i-- {
		node = map[string]any{path[i]: node}
	}
	return &formError{code: 50035, message: "Invalid Form Body", errors: node.(map[string]any)}
}

// validate applies Discord's message limits; create also rejects empty messages.
func (w write) validate(create bool) *formError {
	if w.Content != nil && utf8.RuneCountInString(*w.Content) > 2000 {
		return invalidField([]string{"content"}, "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
	}
	if w.Embeds != nil {
		if err := validateEmbeds(*w.Embeds); err != nil {
			return err
		}
	}
	if create {
		empty := (w.Content == nil || *w.Content == "") &&
			(w.Embeds == nil || len(*w.Embeds) == 0) &&
			(w.Components == nil || len(*w.Components) == 0) && w.Files == 0
		if empty {
			return &formError{code: 50006, message: "Cannot send an empty message"}
		}
	}
	return nil
}

func validateEmbeds(embeds []*discordgo.MessageEmbed) *formError {
	if len(embeds) > 10 {
		return invalidField([]string{"embeds"}, "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
	}
	total := 0
	tooLong := func(path []string, s string, max int) *formError {
		n := utf8.RuneCountInString(s)
		total += n
		if n > max {
			return invalidField(path, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", max))
		}
		return nil
	}
	for i, e := range embeds {
		if e == nil {
			continue
		}
		p := func(field ...string) []string { return append([]string{"embeds", fmt.Sprint(i)}, field...) }
		if err := tooLong(p("title"), e.Title, 256); err != nil {
			return err
		}
		if err := tooLong(p("description"), e.Description, 4096); err != nil {
			return err
		}
		if e.Footer != nil {
			if err := tooLong(p("footer", "text"), e.Footer.Text, 2048); err != nil {
				return err
			}
		}
		if e.Author != nil {
			if err := tooLong(p("author", "name"), e.Author.Name, 256); err != nil {
				return err
			}
		}
		if len(e.Fields) > 25 {
			return invalidField(p("fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
		}
		for j, f := range e.Fields {
			if f == nil {
				continue
			}
			if err := tooLong(p("fields", fmt.Sprint(j), "name"), f.Name, 256); err != nil {
				return err
			}
			if err := tooLong(p("fields", fmt.Sprint(j), "value"), f.Value, 1024); err != nil {
				return err
			}
		}
	}
	if total > 6000 {
		return invalidField([]string{"embeds"}, "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
	}
	return nil
}

// wireMessage is a message as Discord's REST API returns it.
type wireMessage struct {
	ID               string                       `json:"id"`
	Type             discordgo.MessageType        `json:"type"`
	ChannelID        string                       `json:"channel_id"`
	GuildID          string                       `json:"guild_id,omitempty"`
	Author           *discordgo.User              `json:"author"`
	Content          string                       `json:"content"`
	Embeds           []*discordgo.MessageEmbed    `json:"embeds"`
	Components       []discordgo.MessageComponent `json:"components"`
	Flags            discordgo.MessageFlags       `json:"flags"`
	Mentions         []*discordgo.User            `json:"mentions"`
	MessageReference *discordgo.MessageReference  `json:"message_reference,omitempty"`
	Timestamp        time.Time                    `json:"timestamp"`
	EditedTimestamp  *time.Time                   `json:"edited_timestamp"`
	WebhookID        string                       `json:"webhook_id,omitempty"`
	ApplicationID    string                       `json:"application_id,omitempty"`
}

func (s *Server) wire(m *Message) wireMessage {
	w := wireMessage{
		ID:               m.ID,
		ChannelID:        m.ChannelID,
		GuildID:          m.GuildID,
		Author:           m.Author,
		Content:          m.Content,
		Embeds:           m.Embeds,
		Components:       m.Components,
		Flags:            m.Flags,
		Mentions:         m.Mentions,
		MessageReference: m.Reference,
		Timestamp:        m.Created.UTC(),
	}
	if w.Embeds == nil {
		w.Embeds = []*discordgo.MessageEmbed{}
	}
	if w.Components == nil {
		w.Components = []discordgo.MessageComponent{}
	}
	if w.Mentions == nil {
		w.Mentions = []*discordgo.User{}
	}
	if m.InteractionToken != "" {
		w.WebhookID, w.ApplicationID = s.cfg.appID, s.cfg.appID
	}
	if m.Reference != nil {
		w.Type = discordgo.MessageTypeReply
	}
	return w
}
