package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// call carries one REST request through a route handler.
type call struct {
	s      *Server
	r      *http.Request
	rec    *Request
	route  string
	status int
	body   any // JSON-encoded unless nil
}

type callKey struct{}

// handler answers a REST call with a status and a body to encode as JSON (nil for none).
type handler func(c *call) (int, any)

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, h handler) {
		mux.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
			c := r.Context().Value(callKey{}).(*call)
			c.r, c.route = r, pattern
			c.status, c.body = h(c)
		})
	}
	handle("GET /gateway", (*call).gateway)
	handle("GET /gateway/bot", (*call).gatewayBot)
	handle("GET /users/@me", (*call).me)

	handle("POST /interactions/{id}/{token}/callback", (*call).callback)
	handle("POST /webhooks/{app}/{token}", withWebhook((*call).followup))
	handle("GET /webhooks/{app}/{token}/messages/{id}", withWebhook((*call).webhookMessage))
	handle("PATCH /webhooks/{app}/{token}/messages/{id}", withWebhook((*call).webhookMessage))
	handle("DELETE /webhooks/{app}/{token}/messages/{id}", withWebhook((*call).webhookMessage))

	for _, prefix := range []string{"/applications/{app}", "/applications/{app}/guilds/{guild}"} {
		handle("GET "+prefix+"/commands", (*call).listCommands)
		handle("PUT "+prefix+"/commands", (*call).overwriteCommands)
		handle("POST "+prefix+"/commands", (*call).createCommand)
		handle("GET "+prefix+"/commands/{cmd}", (*call).command)
		handle("DELETE "+prefix+"/commands/{cmd}", (*call).command)
	}

	handle("GET /channels/{id}", (*call).channel)
	handle("POST /channels/{id}/typing", func(*call) (int, any) { return http.StatusNoContent, nil })
	handle("GET /channels/{id}/messages", (*call).listMessages)
	handle("POST /channels/{id}/messages", withWrite((*call).createMessage))
	handle("GET /channels/{id}/messages/{mid}", withWrite((*call).channelMessage))
	handle("PATCH /channels/{id}/messages/{mid}", withWrite((*call).channelMessage))
	handle("DELETE /channels/{id}/messages/{mid}", withWrite((*call).channelMessage))
	handle("POST /channels/{id}/messages/{mid}/threads", withThreadStart((*call).threadFromMessage))
	handle("POST /channels/{id}/threads", withThreadStart((*call).thread))
	return mux
}

var apiPrefix = regexp.MustCompile(`^/api/v[0-9]+(/.*)$`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if websocket.IsWebSocketUpgrade(r) {
		s.serveGateway(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	rec := &Request{
		Method:  r.Method,
		Host:    r.Host,
		Path:    r.URL.Path,
		URLPath: r.URL.Path,
		Query:   r.URL.Query(),
		Header:  r.Header.Clone(),
		Body:    body,
		Time:    time.Now(),
	}
	m := apiPrefix.FindStringSubmatch(r.URL.Path)
	if m != nil {
		rec.Path = m[1]
	}
	header := w.Header()
	header.Set("Content-Type", "application/json")

	c := &call{s: s, rec: rec}
	if d := s.latencyFor(rec.Path); d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			c.status = 499
		case <-s.done:
			c.status = http.StatusServiceUnavailable
		}
		timer.Stop()
	}
	var f *fault
	if c.status == 0 {
		f = s.takeFault(rec.Method, rec.Path)
	}
	switch {
	case c.status != 0:
	case f != nil:
		rec.Injected = true
		c.status, c.body = faultResponse(f.status, header)
	case m == nil:
		c.status, c.body = apiError(http.StatusNotFound, 0, "404: Not Found")
	case !s.authorized(rec):
		c.status, c.body = apiError(http.StatusUnauthorized, 0, "401: Unauthorized")
	default:
		inner := r.Clone(context.WithValue(r.Context(), callKey{}, c))
		inner.URL.Path, inner.URL.RawPath = rec.Path, ""
		s.mux.ServeHTTP(httptest.NewRecorder(), inner)
		if c.route == "" {
			c.status, c.body = apiError(http.StatusNotFound, 0, "404: Not Found")
		}
	}
	rec.Route, rec.Status = c.route, c.status

	var out []byte
	if c.body != nil {
		var err error
		if out, err = json.Marshal(c.body); err != nil {
			rec.Status = http.StatusInternalServerError
			out = []byte(`{"message":"discordtest: ` + strings.ReplaceAll(err.Error(), `"`, `'`) + `","code":0}`)
		}
	}
	// Log before answering, so a test that has its response also finds the request logged.
	s.mu.Lock()
	s.requests = append(s.requests, *rec)
	s.notifyLocked()
	s.mu.Unlock()

	if rec.Status == 499 {
		return
	}
	w.WriteHeader(rec.Status)
	w.Write(out)
}

// authorized applies WithToken to routes that need a bot token.
func (s *Server) authorized(rec *Request) bool {
	if s.cfg.token == "" || rec.Path == "/gateway" ||
		strings.HasPrefix(rec.Path, "/interactions/") || strings.HasPrefix(rec.Path, "/webhooks/") {
		return true
	}
	return rec.Header.Get("Authorization") == "Bot "+s.cfg.token
}

const retryAfter = 0.05 // seconds, in injected 429s

func faultResponse(status int, h http.Header) (int, any) {
	if status != http.StatusTooManyRequests {
		return apiError(status, 0, fmt.Sprintf("%d: %s", status, http.StatusText(status)))
	}
	reset := float64(time.Now().UnixMilli())/1000 + retryAfter
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter))))
	h.Set("X-RateLimit-Limit", "5")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(reset, 'f', 3, 64))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(retryAfter, 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", "discordtest")
	h.Set("X-RateLimit-Scope", "user")
	return status, map[string]any{"message": "You are being rate limited.", "retry_after": retryAfter, "global": false}
}

func apiError(status, code int, message string) (int, any) {
	return status, map[string]any{"code": code, "message": message}
}

func formErrorResponse(e *formError) (int, any) {
	body := map[string]any{"code": e.code, "message": e.message}
	if e.errors != nil {
		body["errors"] = e.errors
	}
	return http.StatusBadRequest, body
}

func invalidBody(err error) (int, any) {
	return http.StatusBadRequest, map[string]any{"code": 50109, "message": "The request body contains invalid JSON.", "detail": err.Error()}
}

// parse decodes the request's message payload (JSON or multipart payload_json).
func (c *call) parse() (write, error) {
	raw, files, err := payloadJSON(c.rec.Header.Get("Content-Type"), c.rec.Body)
	if err != nil {
		return write{}, err
	}
	return parseWrite(raw, files)
}

// withWrite adapts the handler of a route that carries a message payload: it answers a body
// that does not parse, and otherwise runs h with the payload and s.mu held.
func withWrite(h func(c *call, w write) (int, any)) handler {
	return func(c *call) (int, any) {
		w, err := c.parse()
		if err != nil {
			return invalidBody(err)
		}
		c.s.mu.Lock()
		defer c.s.mu.Unlock()
		return h(c, w)
	}
}

func (c *call) gateway() (int, any) {
	return http.StatusOK, map[string]any{"url": c.s.GatewayURL()}
}

func (c *call) gatewayBot() (int, any) {
	return http.StatusOK, map[string]any{
		"url":    c.s.GatewayURL(),
		"shards": 1,
		"session_start_limit": map[string]any{
			"total": 1000, "remaining": 1000, "reset_after": 86400000, "max_concurrency": 1,
		},
	}
}

func (c *call) me() (int, any) { return http.StatusOK, c.s.BotUser() }

func (c *call) callback() (int, any) {
	s := c.s
	raw, files, err := payloadJSON(c.rec.Header.Get("Content-Type"), c.rec.Body)
	if err != nil {
		return invalidBody(err)
	}
	var body struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data json.RawMessage                   `json:"data"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return invalidBody(err)
	}
	w, err := parseWrite(body.Data, files)
	if err != nil {
		return invalidBody(err)
	}
	id, token := c.r.PathValue("id"), c.r.PathValue("token")

	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.interactionLocked(token)
	if st.id == "" {
		st.id = id
	}
	status, resp := s.acknowledgeLocked(st, id, token, body.Type, w)
	cb := Callback{
		Type: body.Type, CustomID: w.CustomID, Title: w.Title,
		AllowedMentions: w.AllowedMentions, Request: *c.rec,
	}
	cb.Request.Route, cb.Request.Status = c.route, status
	if w.Content != nil {
		cb.Content = *w.Content
	}
	if w.Embeds != nil {
		cb.Embeds = *w.Embeds
	}
	if w.Components != nil {
		cb.Components = *w.Components
	}
	if w.Flags != nil {
		cb.Flags = *w.Flags
	}
	st.callbacks = append(st.callbacks, cb)
	s.notifyLocked()
	return status, resp
}

// acknowledgeLocked applies Discord's rules to a callback and, when it is accepted, its
// effect on @original.
func (s *Server) acknowledgeLocked(st *interactionState, id, token string, typ discordgo.InteractionResponseType, w write) (int, any) {
	switch {
	case st.id != id:
		return apiError(http.StatusNotFound, 10062, "Unknown interaction")
	case !st.sent.IsZero() && s.cfg.ackDeadline > 0 && time.Since(st.sent) > s.cfg.ackDeadline:
		return apiError(http.StatusNotFound, 10062, "Unknown interaction")
	case st.acked:
		return apiError(http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
	}
	switch typ {
	case discordgo.InteractionResponseChannelMessageWithSource:
		if e := w.validate(true); e != nil {
			return formErrorResponse(e)
		}
	case discordgo.InteractionResponseUpdateMessage:
		if e := w.validate(false); e != nil {
			return formErrorResponse(e)
		}
	case discordgo.InteractionResponseModal:
		if w.CustomID == "" || w.Title == "" {
			return invalidField([]string{"data", "custom_id"}, "BASE_TYPE_REQUIRED", "This field is required").response()
		}
	}
	st.acked = true
	if typ == discordgo.InteractionResponseDeferredMessageUpdate || typ == discordgo.InteractionResponseUpdateMessage {
		if m := s.componentMessageLocked(st); m != nil {
			// @original of a component interaction is the message carrying the component.
			st.original = m.ID
			if typ == discordgo.InteractionResponseUpdateMessage {
				w.apply(m)
				m.Edits++
			}
			return http.StatusNoContent, nil
		}
	}
	switch typ {
	case discordgo.InteractionResponseChannelMessageWithSource,
		discordgo.InteractionResponseDeferredChannelMessageWithSource,
		discordgo.InteractionResponseUpdateMessage:
		m := &Message{
			ChannelID:        st.channelID,
			GuildID:          st.guildID,
			Author:           s.BotUser(),
			InteractionToken: token,
			Deferred:         typ == discordgo.InteractionResponseDeferredChannelMessageWithSource,
		}
		w.apply(m)
		s.addMessageLocked(m)
		st.original = m.ID
	}
	return http.StatusNoContent, nil
}

func (e *formError) response() (int, any) { return formErrorResponse(e) }

// componentMessageLocked returns the stored message that carried the component of st's
// interaction, storing it first if the fake has not seen it; nil if the interaction had no
// message.
func (s *Server) componentMessageLocked(st *interactionState) *Message {
	src := st.message
	if src == nil || src.ID == "" {
		return nil
	}
	if m, ok := s.messages[src.ID]; ok {
		return m
	}
	m := &Message{
		ID:        src.ID,
		ChannelID: src.ChannelID,
		GuildID:   src.GuildID,
		Author:    src.Author,
		Content:   src.Content,
		Embeds:    src.Embeds,
		Flags:     src.Flags,
		Created:   src.Timestamp,
	}
	if m.ChannelID == "" {
		m.ChannelID = st.channelID
	}
	if m.Author == nil {
		m.Author = s.BotUser()
	}
	s.addMessageLocked(m)
	return m
}

// withWebhook adapts the handler of a webhook route: like withWrite, and it also resolves the
// interaction behind the webhook for h, answering like Discord does for an unknown webhook.
func withWebhook(h func(c *call, w write, st *interactionState) (int, any)) handler {
	return withWrite(func(c *call, w write) (int, any) {
		if c.r.PathValue("app") != c.s.cfg.appID {
			return apiError(http.StatusNotFound, 10015, "Unknown Webhook")
		}
		st := c.s.interactions[c.r.PathValue("token")]
		if st == nil || !st.acked {
			return apiError(http.StatusNotFound, 10015, "Unknown Webhook")
		}
		return h(c, w, st)
	})
}

func (c *call) followup(w write, st *interactionState) (int, any) {
	s := c.s
	if e := w.validate(true); e != nil {
		return formErrorResponse(e)
	}
	m := &Message{
		ChannelID:        st.channelID,
		GuildID:          st.guildID,
		Author:           s.BotUser(),
		InteractionToken: c.r.PathValue("token"),
	}
	w.apply(m)
	s.addMessageLocked(m)
	st.followups = append(st.followups, m.ID)
	if c.rec.Query.Get("wait") != "true" {
		return http.StatusNoContent, nil
	}
	return http.StatusOK, s.wire(m)
}

func (c *call) webhookMessage(w write, st *interactionState) (int, any) {
	s := c.s
	id := c.r.PathValue("id")
	if id == "@original" {
		id = st.original
	} else if !containsString(st.followups, id) {
		id = ""
	}
	m := s.messages[id]
	if m == nil || m.Deleted {
		return apiError(http.StatusNotFound, 10008, "Unknown Message")
	}
	switch c.r.Method {
	case http.MethodPatch:
		if e := w.validate(false); e != nil {
			return formErrorResponse(e)
		}
		w.apply(m)
		m.Deferred = false
		m.Edits++
	case http.MethodDelete:
		m.Deleted = true
		return http.StatusNoContent, nil
	}
	return http.StatusOK, s.wire(m)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// commandScope checks the application id and returns the command scope key.
func (c *call) commandScope() (string, bool) {
	return c.r.PathValue("guild"), c.r.PathValue("app") == c.s.cfg.appID
}

func missingAccess() (int, any) { return apiError(http.StatusForbidden, 50001, "Missing Access") }

func (c *call) listCommands() (int, any) {
	scope, ok := c.commandScope()
	if !ok {
		return missingAccess()
	}
	return http.StatusOK, c.s.Commands(scope)
}

func (c *call) overwriteCommands() (int, any) {
	scope, ok := c.commandScope()
	if !ok {
		return missingAccess()
	}
	var cmds []*discordgo.ApplicationCommand
	if err := json.Unmarshal(c.rec.Body, &cmds); err != nil {
		return invalidBody(err)
	}
	if len(cmds) > 100 {
		return invalidField(nil, "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.").response()
	}
	seen := map[string]bool{}
	for i, cmd := range cmds {
		if e := validateCommand([]string{strconv.Itoa(i)}, cmd); e != nil {
			return e.response()
		}
		key := fmt.Sprint(cmd.Type, cmd.Name)
		if seen[key] {
			return invalidField([]string{strconv.Itoa(i), "name"}, "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique").response()
		}
		seen[key] = true
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	old := c.s.commands[scope]
	for _, cmd := range cmds {
		c.s.prepareCommandLocked(scope, cmd, old)
	}
	c.s.commands[scope] = cmds
	return http.StatusOK, cloneCommands(cmds)
}

func (c *call) createCommand() (int, any) {
	scope, ok := c.commandScope()
	if !ok {
		return missingAccess()
	}
	var cmd discordgo.ApplicationCommand
	if err := json.Unmarshal(c.rec.Body, &cmd); err != nil {
		return invalidBody(err)
	}
	if e := validateCommand(nil, &cmd); e != nil {
		return e.response()
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	list := c.s.commands[scope]
	c.s.prepareCommandLocked(scope, &cmd, list)
	for i, old := range list {
		if old.ID == cmd.ID {
			list[i] = &cmd
			return http.StatusOK, cloneCommands([]*discordgo.ApplicationCommand{&cmd})[0]
		}
	}
	c.s.commands[scope] = append(list, &cmd)
	return http.StatusCreated, cloneCommands([]*discordgo.ApplicationCommand{&cmd})[0]
}

func (c *call) command() (int, any) {
	scope, ok := c.commandScope()
	if !ok {
		return missingAccess()
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	list := c.s.commands[scope]
	for i, cmd := range list {
		if cmd.ID != c.r.PathValue("cmd") {
			continue
		}
		if c.r.Method == http.MethodDelete {
			c.s.commands[scope] = append(list[:i:i], list[i+1:]...)
			return http.StatusNoContent, nil
		}
		return http.StatusOK, cloneCommands([]*discordgo.ApplicationCommand{cmd})[0]
	}
	return apiError(http.StatusNotFound, 10063, "Unknown application command")
}

// prepareCommandLocked fills the fields Discord assigns, keeping the id of a command with the
// same type and name in old, as Discord does on overwrite.
func (s *Server) prepareCommandLocked(scope string, cmd *discordgo.ApplicationCommand, old []*discordgo.ApplicationCommand) {
	if cmd.Type == 0 {
		cmd.Type = discordgo.ChatApplicationCommand
	}
	cmd.ID = ""
	for _, o := range old {
		if o.Type == cmd.Type && o.Name == cmd.Name {
			cmd.ID = o.ID
		}
	}
	if cmd.ID == "" {
		cmd.ID = s.newIDLocked()
	}
	cmd.ApplicationID, cmd.GuildID = s.cfg.appID, scope
	cmd.Version = s.newIDLocked()
}

var commandName = regexp.MustCompile(`^[-_\p{L}\p{N}]{1,32}$`)

// validateCommand applies Discord's naming and size rules to a command and its options.
func validateCommand(path []string, cmd *discordgo.ApplicationCommand) *formError {
	at := func(field ...string) []string { return append(append([]string{}, path...), field...) }
	chat := cmd.Type == 0 || cmd.Type == discordgo.ChatApplicationCommand
	if !commandName.MatchString(cmd.Name) || (chat && strings.ToLower(cmd.Name) != cmd.Name) {
		return invalidField(at("name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
	}
	if chat {
		if n := len([]rune(cmd.Description)); n < 1 || n > 100 {
			return invalidField(at("description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
	}
	return validateOptions(at("options"), cmd.Options)
}

func validateOptions(path []string, opts []*discordgo.ApplicationCommandOption) *formError {
	if len(opts) > 25 {
		return invalidField(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	optional := false
	for i, o := range opts {
		at := func(field ...string) []string {
			return append(append(append([]string{}, path...), strconv.Itoa(i)), field...)
		}
		if !commandName.MatchString(o.Name) || strings.ToLower(o.Name) != o.Name {
			return invalidField(at("name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
		}
		if n := len([]rune(o.Description)); n < 1 || n > 100 {
			return invalidField(at("description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		if len(o.Choices) > 25 {
			return invalidField(at("choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
		}
		if o.Required && optional {
			return invalidField(at("required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
		}
		optional = optional || !o.Required
		if e := validateOptions(at("options"), o.Options); e != nil {
			return e
		}
	}
	return nil
}

func (c *call) channel() (int, any) {
	ch, ok := c.s.Channel(c.r.PathValue("id"))
	if !ok {
		return apiError(http.StatusNotFound, 10003, "Unknown Channel")
	}
	return http.StatusOK, ch
}

func (c *call) guildOfLocked(channelID string) string {
	if ch, ok := c.s.channels[channelID]; ok {
		return ch.GuildID
	}
	return ""
}

func (c *call) createMessage(w write) (int, any) {
	s := c.s
	if e := w.validate(true); e != nil {
		return formErrorResponse(e)
	}
	channelID := c.r.PathValue("id")
	m := &Message{ChannelID: channelID, GuildID: c.guildOfLocked(channelID), Author: s.BotUser()}
	w.apply(m)
	s.addMessageLocked(m)
	return http.StatusOK, s.wire(m)
}

func (c *call) channelMessage(w write) (int, any) {
	s := c.s
	m := s.messages[c.r.PathValue("mid")]
	if m == nil || m.Deleted || m.ChannelID != c.r.PathValue("id") {
		return apiError(http.StatusNotFound, 10008, "Unknown Message")
	}
	switch c.r.Method {
	case http.MethodPatch:
		if m.Author == nil || m.Author.ID != s.cfg.botID {
			return apiError(http.StatusForbidden, 50005, "Cannot edit a message authored by another user")
		}
		if e := w.validate(false); e != nil {
			return formErrorResponse(e)
		}
		w.apply(m)
		m.Edits++
	case http.MethodDelete:
		m.Deleted = true
		return http.StatusNoContent, nil
	}
	return http.StatusOK, s.wire(m)
}

// listMessages answers GET /channels/{id}/messages: newest first, honouring limit (1-100,
// default 50), before and after.
func (c *call) listMessages() (int, any) {
	s := c.s
	limit := 50
	if v := c.rec.Query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return invalidField([]string{"limit"}, "NUMBER_TYPE_MAX", "int value should be between 1 and 100.").response()
		}
		limit = n
	}
	before, after := c.rec.Query.Get("before"), c.rec.Query.Get("after")
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := s.channelMessagesLocked(c.r.PathValue("id"))
	out := []wireMessage{}
	for i := len(msgs) - 1; i >= 0 && len(out) < limit; i-- {
		m := msgs[i]
		if before != "" && compareIDs(m.ID, before) >= 0 || after != "" && compareIDs(m.ID, after) <= 0 {
			continue
		}
		out = append(out, s.wire(&m))
	}
	return http.StatusOK, out
}

// withThreadStart adapts the handler of a route that starts a thread: it answers a body that
// does not parse or whose name is not 1 to 100 characters, and otherwise runs h with the
// request and s.mu held.
func withThreadStart(h func(c *call, ts discordgo.ThreadStart) (int, any)) handler {
	return func(c *call) (int, any) {
		var ts discordgo.ThreadStart
		if err := json.Unmarshal(c.rec.Body, &ts); err != nil {
			return invalidBody(err)
		}
		if n := len([]rune(ts.Name)); n < 1 || n > 100 {
			return invalidField([]string{"name"}, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.").response()
		}
		c.s.mu.Lock()
		defer c.s.mu.Unlock()
		return h(c, ts)
	}
}

func (s *Server) newThreadLocked(id, parentID string, typ discordgo.ChannelType, ts discordgo.ThreadStart) *discordgo.Channel {
	archive := ts.AutoArchiveDuration
	if archive == 0 {
		archive = 4320
	}
	ch := &discordgo.Channel{
		ID:               id,
		Type:             typ,
		ParentID:         parentID,
		Name:             ts.Name,
		OwnerID:          s.cfg.botID,
		RateLimitPerUser: ts.RateLimitPerUser,
		MemberCount:      1,
		ThreadMetadata: &discordgo.ThreadMetadata{
			AutoArchiveDuration: archive,
			ArchiveTimestamp:    time.Now().UTC(),
			Invitable:           ts.Invitable,
		},
	}
	if parent, ok := s.channels[parentID]; ok {
		ch.GuildID = parent.GuildID
	}
	s.channels[id] = ch
	cp := *ch
	return &cp
}

// threadFromMessage answers POST /channels/{id}/messages/{mid}/threads. As on Discord, the
// thread gets the message's id, and a message can start only one thread.
func (c *call) threadFromMessage(ts discordgo.ThreadStart) (int, any) {
	s := c.s
	parentID, mid := c.r.PathValue("id"), c.r.PathValue("mid")
	m := s.messages[mid]
	if m == nil || m.Deleted || m.ChannelID != parentID {
		return apiError(http.StatusNotFound, 10008, "Unknown Message")
	}
	if _, ok := s.threadOf[mid]; ok {
		return apiError(http.StatusBadRequest, 160004, "A thread has already been created for this message")
	}
	typ := discordgo.ChannelTypeGuildPublicThread
	if p, ok := s.channels[parentID]; ok && p.Type == discordgo.ChannelTypeGuildNews {
		typ = discordgo.ChannelTypeGuildNewsThread
	}
	s.threadOf[mid] = mid
	return http.StatusCreated, s.newThreadLocked(mid, parentID, typ, ts)
}

// thread answers POST /channels/{id}/threads; the type defaults to a private thread, as on
// Discord.
func (c *call) thread(ts discordgo.ThreadStart) (int, any) {
	s := c.s
	typ := ts.Type
	if typ == 0 {
		typ = discordgo.ChannelTypeGuildPrivateThread
	}
	return http.StatusCreated, s.newThreadLocked(s.newIDLocked(), c.r.PathValue("id"), typ, ts)
}
