package discordtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustOpen opens sess, bounded: discordgo's Open has no read deadline.
func mustOpen(t *testing.T, sess *discordgo.Session) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- sess.Open() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Open did not return within 5s")
	}
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %T within 5s", *new(T))
		panic("unreachable")
	}
}

// waitDataReady waits until sess has sent its first heartbeat: see DropConnections.
func waitDataReady(t *testing.T, ctx context.Context, sess *discordgo.Session) {
	t.Helper()
	for {
		sess.RLock()
		ready := sess.DataReady
		sess.RUnlock()
		if ready {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("session never sent a heartbeat")
		case <-time.After(time.Millisecond):
		}
	}
}

func restCode(err error) (status, code int) {
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		return 0, 0
	}
	if re.Message != nil {
		code = re.Message.Code
	}
	return re.Response.StatusCode, code
}

func TestOpenReachesReady(t *testing.T) {
	t.Parallel()
	s := New(t, WithGuilds("g1"))
	s.AddChannel(&discordgo.Channel{ID: "c1", GuildID: "g1", Type: discordgo.ChannelTypeGuildText, Name: "general"})
	sess := s.Session("tok")
	sess.Identify.Intents = discordgo.IntentsGuildMessages | discordgo.IntentsGuilds
	readyc := make(chan *discordgo.Ready, 1)
	guildc := make(chan *discordgo.GuildCreate, 1)
	sess.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { readyc <- r })
	sess.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) { guildc <- g })
	mustOpen(t, sess)

	r := receive(t, readyc)
	if r.SessionID == "" || r.User == nil || r.User.ID != DefaultBotID || !r.User.Bot || r.Application == nil || r.Application.ID != s.AppID() {
		t.Errorf("READY = %+v, want session id, bot user %s and application %s", r, DefaultBotID, s.AppID())
	}
	if g := receive(t, guildc); g.ID != "g1" || len(g.Channels) != 1 || g.Channels[0].ID != "c1" {
		t.Errorf("GUILD_CREATE = %+v, want g1 with channel c1", g.Guild)
	}
	if err := s.WaitConnected(testContext(t)); err != nil {
		t.Fatal(err)
	}
	ids := s.Identifies()
	if len(ids) != 1 || ids[0].Token != "Bot tok" || ids[0].Intents != sess.Identify.Intents {
		t.Errorf("identifies = %+v, want one with token %q and intents %d", ids, "Bot tok", sess.Identify.Intents)
	}
	gw := Filter(s.Requests(), "GET", "/gateway")
	if len(gw) != 1 || gw[0].Host != "discord.com" || gw[0].Status != http.StatusOK {
		t.Errorf("GET /gateway requests = %v, want one to discord.com answered 200", gw)
	}
}

func TestHeartbeatsAreAcked(t *testing.T) {
	t.Parallel()
	s := New(t, WithHeartbeatInterval(50*time.Millisecond))
	sess := s.Session("tok")
	mustOpen(t, sess)
	start := time.Now().UTC()
	ctx := testContext(t)
	if err := s.WaitGateway(ctx, func(st GatewayStats) bool { return st.Heartbeats >= 4 }); err != nil {
		t.Fatal(err)
	}
	// discordgo records each ACK in LastHeartbeatAck (under the session lock).
	for {
		sess.RLock()
		ack := sess.LastHeartbeatAck
		sess.RUnlock()
		if ack.After(start) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("LastHeartbeatAck = %v, want after %v", ack, start)
		case <-time.After(5 * time.Millisecond):
		}
	}
	// Without ACKs discordgo would reconnect after five intervals.
	if st := s.GatewayStats(); st.Identifies != 1 || st.Resumes != 0 || st.Connections != 1 {
		t.Errorf("stats = %+v, want 1 identify, 0 resumes, 1 connection", st)
	}
}

func TestApplicationCommandBulkOverwrite(t *testing.T) {
	t.Parallel()
	s := New(t)
	sess := s.Session("tok")
	cmds := []*discordgo.ApplicationCommand{
		{Name: "ask", Description: "Ask a question"},
		{Name: "source", Description: "Manage sources", Options: []*discordgo.ApplicationCommandOption{{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: "add", Description: "Add a source",
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: "url", Description: "URL", Required: true,
			}},
		}}},
	}
	got, err := sess.ApplicationCommandBulkOverwrite(s.AppID(), "", cmds)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID == "" || got[0].ApplicationID != s.AppID() || got[1].Options[0].Options[0].Name != "url" {
		t.Fatalf("overwrite returned %+v, want 2 commands with ids", got)
	}
	askID := got[0].ID

	again, err := sess.ApplicationCommandBulkOverwrite(s.AppID(), "", cmds[:1])
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].ID != askID {
		t.Errorf("second overwrite = %+v, want only ask with id %s kept", again, askID)
	}
	if stored := s.Commands(""); len(stored) != 1 || stored[0].Name != "ask" {
		t.Errorf("Commands(\"\") = %+v, want [ask]", stored)
	}
	if _, err := sess.ApplicationCommandBulkOverwrite(s.AppID(), "g1", cmds); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Commands("g1")); n != 2 {
		t.Errorf("guild commands = %d, want 2", n)
	}
	listed, err := sess.ApplicationCommands(s.AppID(), "g1")
	if err != nil || len(listed) != 2 {
		t.Errorf("ApplicationCommands = %d, %v; want 2, nil", len(listed), err)
	}

	bad := []*discordgo.ApplicationCommand{{Name: "Ask Me", Description: "x"}}
	if _, err := sess.ApplicationCommandBulkOverwrite(s.AppID(), "", bad); err == nil {
		t.Error("invalid command name accepted")
	} else if status, code := restCode(err); status != 400 || code != 50035 {
		t.Errorf("invalid name: got %d/%d, want 400/50035", status, code)
	}
	if _, err := sess.ApplicationCommandBulkOverwrite("424242", "", cmds); err == nil {
		t.Error("overwrite for another application accepted")
	}
}

func TestInteractionResponseFlow(t *testing.T) {
	t.Parallel()
	s := New(t)
	if _, err := s.Session("tok").ApplicationCommandBulkOverwrite(s.AppID(), "", []*discordgo.ApplicationCommand{
		{Name: "ask", Description: "Ask"},
	}); err != nil {
		t.Fatal(err)
	}
	sess := s.Session("tok")
	got := make(chan *discordgo.InteractionCreate, 1)
	errc := make(chan error, 1)
	sess.AddHandler(func(ds *discordgo.Session, i *discordgo.InteractionCreate) {
		got <- i
		none := &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
		err := ds.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		})
		if err == nil {
			answer := "the answer"
			_, err = ds.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &answer, AllowedMentions: none})
		}
		if err == nil {
			_, err = ds.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "more", AllowedMentions: none})
		}
		errc <- err
	})
	mustOpen(t, sess)
	if err := s.WaitConnected(testContext(t)); err != nil {
		t.Fatal(err)
	}

	i := SlashCommand("ask",
		Options(Subcommand("now", String("question", "why?"), Int("n", 3))),
		ByMember(Member("u1", discordgo.PermissionManageMessages, "r1")),
		InChannel("c1"))
	tok := s.SendInteraction(i)

	in := receive(t, got)
	data := in.ApplicationCommandData()
	sub := data.Options[0]
	if data.Name != "ask" || data.ID != s.Commands("")[0].ID || sub.Name != "now" ||
		sub.GetOption("question").StringValue() != "why?" || sub.GetOption("n").IntValue() != 3 {
		t.Errorf("handler got %+v, want ask/now with question and n", data)
	}
	if in.Member == nil || in.Member.User.ID != "u1" || in.Member.Permissions != discordgo.PermissionManageMessages || in.Token != tok || in.AppID != s.AppID() {
		t.Errorf("handler got member %+v token %q app %q", in.Member, in.Token, in.AppID)
	}
	if err := receive(t, errc); err != nil {
		t.Fatalf("handler REST calls: %v", err)
	}

	reqs := s.Requests()
	want := []struct{ method, path string }{
		{"POST", "/interactions/" + i.ID + "/" + tok + "/callback"},
		{"PATCH", "/webhooks/" + s.AppID() + "/" + tok + "/messages/@original"},
		{"POST", "/webhooks/" + s.AppID() + "/" + tok},
	}
	for _, w := range want {
		rs := Filter(reqs, w.method, w.path)
		if len(rs) != 1 || rs[0].Path != w.path {
			t.Errorf("%s %s: got %d requests, want 1", w.method, w.path, len(rs))
			continue
		}
		if rs[0].Authorization() != "Bot tok" || strings.Contains(rs[0].String(), "Bot tok") || strings.Contains(fmt.Sprintf("%#v", rs[0]), "Bot tok") {
			t.Errorf("%s: Authorization %q kept, and redacted from String()", w.path, rs[0].Authorization())
		}
		if w.method == "PATCH" || w.path == want[2].path {
			if present, empty := rs[0].AllowedMentionsEmpty(); !present || !empty {
				t.Errorf("%s %s: allowed_mentions present=%v empty=%v, want true true", w.method, w.path, present, empty)
			}
		}
	}
	if q := Filter(reqs, "POST", want[2].path)[0].Query.Get("wait"); q != "true" {
		t.Errorf("follow-up wait = %q, want true", q)
	}
	if cbs := s.Callbacks(tok); len(cbs) != 1 || cbs[0].Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Errorf("callbacks = %+v, want one deferral", cbs)
	}
	orig, ok := s.Original(tok)
	if !ok || orig.Content != "the answer" || orig.Deferred || orig.Edits != 1 || orig.ChannelID != "c1" {
		t.Errorf("original = %+v, want edited answer in c1", orig)
	}
	if fs := s.Followups(tok); len(fs) != 1 || fs[0].Content != "more" {
		t.Errorf("followups = %+v, want [more]", fs)
	}
	if msgs := s.Messages("c1"); len(msgs) != 2 {
		t.Errorf("channel c1 shows %d messages, want original and follow-up", len(msgs))
	}
	if u := s.UnknownRequests(); len(u) != 0 {
		t.Errorf("unknown requests: %v", u)
	}
}

func TestInteractionRules(t *testing.T) {
	t.Parallel()
	s := New(t)
	sess := s.Session("tok")
	i := &discordgo.Interaction{ID: "1", Token: "t1", AppID: s.AppID()}

	answer := "x"
	if _, err := sess.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &answer}); err == nil {
		t.Error("edit of @original before the callback accepted")
	}
	if _, err := sess.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "x"}); err == nil {
		t.Error("follow-up before the callback accepted")
	}
	long := &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: strings.Repeat("é", 2001)},
	}
	if status, code := restCode(sess.InteractionRespond(i, long)); status != 400 || code != 50035 {
		t.Errorf("2001-character content: got %d/%d, want 400/50035", status, code)
	}
	ok := &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "hi", Flags: discordgo.MessageFlagsEphemeral},
	}
	if err := sess.InteractionRespond(i, ok); err != nil {
		t.Fatal(err)
	}
	if status, code := restCode(sess.InteractionRespond(i, ok)); status != 400 || code != 40060 {
		t.Errorf("second callback: got %d/%d, want 400/40060", status, code)
	}
	if m, found := s.Original("t1"); !found || m.Content != "hi" || !m.Ephemeral() {
		t.Errorf("original = %+v, want ephemeral hi", m)
	}
	if present, _ := s.Callbacks("t1")[0].Request.AllowedMentionsEmpty(); present {
		t.Error("callback without allowed_mentions reported present")
	}
	if got, err := sess.InteractionResponse(i); err != nil || got.Content != "hi" {
		t.Errorf("GET @original = %+v, %v", got, err)
	}
	if err := sess.InteractionResponseDelete(i); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Original("t1"); !m.Deleted {
		t.Error("deleted original not marked Deleted")
	}
	if _, err := sess.FollowupMessageCreate(&discordgo.Interaction{ID: "1", Token: "t1", AppID: "999"}, true, &discordgo.WebhookParams{Content: "x"}); err == nil {
		t.Error("follow-up with a wrong application id accepted")
	}
}

func TestAckDeadline(t *testing.T) {
	t.Parallel()
	s := New(t, WithAckDeadline(time.Nanosecond))
	sess := s.Session("tok")
	errc := make(chan error, 1)
	sess.AddHandler(func(ds *discordgo.Session, i *discordgo.InteractionCreate) {
		errc <- ds.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	})
	mustOpen(t, sess)
	if err := s.WaitConnected(testContext(t)); err != nil {
		t.Fatal(err)
	}
	s.SendInteraction(SlashCommand("ask"))
	if status, code := restCode(receive(t, errc)); status != 404 || code != 10062 {
		t.Errorf("late callback: got %d/%d, want 404/10062", status, code)
	}
}

type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

func TestForeignHostsRefused(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{TB: t}
	s := New(rec)

	resp, err := s.Session("tok").Client.Get("https://example.com/api/v10/users/@me")
	if err == nil {
		resp.Body.Close()
		t.Fatal("request to example.com went through")
	}
	if _, _, err := s.Dialer().Dial("wss://evil.example/gateway", nil); err == nil {
		t.Fatal("websocket dial to evil.example went through")
	}
	if f := rec.failures(); len(f) != 2 || !strings.Contains(f[0], "example.com") || !strings.Contains(f[1], "evil.example") {
		t.Errorf("test failures = %q, want one per refused host", f)
	}

	resp, err = s.HTTPClient().Get("https://discord.com/api/v10/users/@me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r := s.Requests()[0]
	if resp.StatusCode != 200 || r.Host != "discord.com" || r.Path != "/users/@me" || r.URLPath != "/api/v10/users/@me" {
		t.Errorf("discord.com request: status %d, logged %v", resp.StatusCode, r)
	}
	ws, _, err := s.Dialer().Dial("wss://gateway.discord.gg/?v=10&encoding=json", nil)
	if err != nil {
		t.Fatalf("dial gateway.discord.gg: %v", err)
	}
	ws.Close()
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	s := New(t)
	sess := s.Session("tok")

	// discordgo sleeps retry_after and retries a 429 by itself.
	s.FailNext("POST", "/channels/", http.StatusTooManyRequests, 1)
	start := time.Now()
	m, err := sess.ChannelMessageSend("c1", "hi")
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("retry after %v, want >= retry_after 50ms", elapsed)
	}
	posts := Filter(s.Requests(), "POST", "/channels/c1/messages")
	if len(posts) != 2 || posts[0].Status != 429 || !posts[0].Injected || posts[1].Status != 200 {
		t.Errorf("posts = %v, want 429 then 200", posts)
	}
	if msgs := s.Messages("c1"); len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].Content != "hi" {
		t.Errorf("channel = %+v, want the one message", msgs)
	}

	s.FailNext("POST", "/channels/", http.StatusTooManyRequests, 1)
	_, err = sess.ChannelMessageSend("c1", "hi", discordgo.WithRetryOnRatelimit(false))
	var rl *discordgo.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 50*time.Millisecond {
		t.Errorf("without retry: err = %v, want RateLimitError with retry_after 50ms", err)
	}

	s.FailNext("", "/channels/", http.StatusInternalServerError, 1)
	if status, _ := restCode(func() error { _, err := sess.ChannelMessageSend("c1", "hi"); return err }()); status != 500 {
		t.Errorf("injected 500: got status %d", status)
	}

	s.FailNext("GET", "/users/", http.StatusTooManyRequests, 1)
	resp, err := s.HTTPClient().Get("https://discord.com/api/v10/users/@me")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(string(body), `"retry_after":0.05`) {
		t.Errorf("429 headers %v body %s", resp.Header, body)
	}
}

func TestSetLatency(t *testing.T) {
	t.Parallel()
	s := New(t)
	sess := s.Session("tok")
	s.SetLatency("/users/", time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := sess.User("@me", discordgo.WithContext(ctx)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow request: err = %v, want deadline exceeded", err)
	}
	if err := s.WaitFor(testContext(t), func(rs []Request) bool { return len(rs) == 1 && rs[0].Status == 499 }); err != nil {
		t.Error(err)
	}
	s.SetLatency("/users/", 0)
	if _, err := sess.User("@me"); err != nil {
		t.Error(err)
	}
}

func TestMessageCreateAndThreads(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.AddChannel(&discordgo.Channel{ID: "c1", GuildID: "g1", Type: discordgo.ChannelTypeGuildText})
	sess := s.Session("tok")
	got := make(chan *discordgo.MessageCreate, 1)
	sess.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { got <- m })
	mustOpen(t, sess)
	if err := s.WaitConnected(testContext(t)); err != nil {
		t.Fatal(err)
	}

	sent := s.MessageCreate(UserMessage("c1", "u1", "<@"+DefaultBotID+"> what is x?", DefaultBotID))
	m := receive(t, got)
	if m.ID != sent.ID || m.Author.ID != "u1" || len(m.Mentions) != 1 || m.Mentions[0].ID != DefaultBotID {
		t.Errorf("MESSAGE_CREATE = %+v, want %s from u1 mentioning the bot", m.Message, sent.ID)
	}

	th, err := sess.MessageThreadStart("c1", m.ID, "What is x?", 60)
	if err != nil {
		t.Fatal(err)
	}
	if th.ID != m.ID || th.Type != discordgo.ChannelTypeGuildPublicThread || th.ParentID != "c1" || th.GuildID != "g1" {
		t.Errorf("thread = %+v, want public thread %s under c1 in g1", th, m.ID)
	}
	if _, err := sess.MessageThreadStart("c1", m.ID, "again", 60); err == nil {
		t.Error("second thread from the same message accepted")
	}
	fetched, err := sess.Channel(th.ID)
	if err != nil || fetched.ParentID != "c1" || fetched.OwnerID != DefaultBotID {
		t.Errorf("GET thread = %+v, %v; want parent c1 owned by the bot", fetched, err)
	}
	private, err := sess.ThreadStart("c1", "private", 0, 60)
	if err != nil || private.Type != discordgo.ChannelTypeGuildPrivateThread {
		t.Errorf("ThreadStart = %+v, %v; want a private thread", private, err)
	}
	if _, err := sess.Channel("nope"); err == nil {
		t.Error("unknown channel found")
	}

	var ids []string
	for n := range 3 {
		msg, err := sess.ChannelMessageSend(th.ID, fmt.Sprint("part ", n))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, msg.ID)
	}
	page, err := sess.ChannelMessages(th.ID, 2, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].ID != ids[2] || page[1].ID != ids[1] {
		t.Errorf("ChannelMessages(limit 2) = %v, want newest first %v", page, ids[1:])
	}
	edited := "part 0, edited"
	if _, err := sess.ChannelMessageEditComplex(&discordgo.MessageEdit{Channel: th.ID, ID: ids[0], Content: &edited}); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.ChannelMessageEdit("c1", m.ID, "hijack"); err == nil {
		t.Error("edit of a user's message accepted")
	}
	if err := sess.ChannelTyping(th.ID); err != nil {
		t.Error(err)
	}
	msgs := s.Messages(th.ID)
	if len(msgs) != 3 || msgs[0].Content != edited || msgs[0].Edits != 1 {
		t.Errorf("thread shows %+v, want 3 messages, the first edited", msgs)
	}
	if u := s.UnknownRequests(); len(u) != 0 {
		t.Errorf("unknown requests: %v", u)
	}
	if err := sess.ChannelMessagesBulkDelete("c1", []string{"1", "2"}); err == nil {
		t.Error("unknown route answered")
	}
	if u := s.UnknownRequests(); len(u) != 1 || u[0].Status != 404 {
		t.Errorf("unknown requests = %v, want the bulk delete", u)
	}
}

func TestComponentsAndDM(t *testing.T) {
	t.Parallel()
	s := New(t)
	sess := s.Session("tok")
	got := make(chan *discordgo.InteractionCreate, 3)
	sess.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { got <- i })
	mustOpen(t, sess)
	if err := s.WaitConnected(testContext(t)); err != nil {
		t.Fatal(err)
	}

	s.SendInteraction(ModalSubmit("feedback", map[string]string{"text": "hello"}))
	in := receive(t, got)
	modal := in.ModalSubmitData()
	row, ok := modal.Components[0].(*discordgo.ActionsRow)
	if !ok || modal.CustomID != "feedback" {
		t.Fatalf("modal = %+v", modal)
	}
	if ti, ok := row.Components[0].(*discordgo.TextInput); !ok || ti.CustomID != "text" || ti.Value != "hello" {
		t.Errorf("text input = %+v, want text=hello", row.Components[0])
	}

	tok := s.SendInteraction(ButtonClick("more:1", OnMessage(&discordgo.Message{ID: "m1", ChannelID: DefaultChannelID, Content: "page 1"})))
	in = receive(t, got)
	if d := in.MessageComponentData(); d.CustomID != "more:1" || in.Message == nil || in.Message.ID != "m1" {
		t.Errorf("button = %+v on %+v", d, in.Message)
	}
	err := sess.InteractionRespond(in.Interaction, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "page 2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := s.Original(tok); !ok || m.ID != "m1" || m.Content != "page 2" || m.Edits != 1 {
		t.Errorf("after update: original = %+v, want m1 edited to page 2", m)
	}

	s.SendInteraction(SlashCommand("ask", InDM("u9")))
	in = receive(t, got)
	if in.Member != nil || in.User == nil || in.User.ID != "u9" || in.GuildID != "" {
		t.Errorf("DM interaction: member %+v user %+v guild %q", in.Member, in.User, in.GuildID)
	}
}

func TestReconnectAfterDrop(t *testing.T) {
	t.Parallel()
	s := New(t)
	sess := s.Session("tok")
	got := make(chan *discordgo.MessageCreate, 1)
	sess.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { got <- m })
	mustOpen(t, sess)
	ctx := testContext(t)
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	waitDataReady(t, ctx, sess)
	s.DropConnections()
	if st := s.GatewayStats(); st.Connections != 0 {
		t.Fatalf("after drop: %+v, want no connections", st)
	}
	// discordgo sleeps a second in Close before reconnecting.
	if err := s.WaitGateway(ctx, func(st GatewayStats) bool { return st.Connections == 1 }); err != nil {
		t.Fatal(err)
	}
	if st := s.GatewayStats(); st.Resumes != 1 || st.Identifies != 1 {
		t.Errorf("after reconnect: %+v, want 1 resume and the first identify only", st)
	}
	s.MessageCreate(UserMessage("c1", "u1", "still there?"))
	if m := receive(t, got); m.Content != "still there?" {
		t.Errorf("after resume got %q", m.Content)
	}
}

func TestWithToken(t *testing.T) {
	t.Parallel()
	s := New(t, WithToken("good"))
	if _, err := s.Session("bad").User("@me"); err == nil {
		t.Error("REST call with a wrong token accepted")
	}
	if _, err := s.Session("good").User("@me"); err != nil {
		t.Error(err)
	}
	bad := s.Session("bad")
	bad.ShouldReconnectOnError = false
	errc := make(chan error, 1)
	go func() { errc <- bad.Open() }()
	if err := receive(t, errc); err == nil {
		t.Error("IDENTIFY with a wrong token accepted")
	}
}

func TestAllowedMentionsEmpty(t *testing.T) {
	t.Parallel()
	ct, multipart, err := discordgo.MultipartBodyWithJSON(map[string]any{
		"content": "x", "allowed_mentions": map[string]any{"parse": []string{}},
	}, []*discordgo.File{{Name: "a.txt", Reader: strings.NewReader("a")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		contentType   string
		body          string
		present, empt bool
	}{
		{"empty list", "application/json", `{"content":"x","allowed_mentions":{"parse":[]}}`, true, true},
		{"null parse", "application/json", `{"content":"x","allowed_mentions":{"parse":null}}`, false, false},
		{"absent", "application/json", `{"content":"x"}`, false, false},
		{"users allowed", "application/json", `{"allowed_mentions":{"parse":["users"]}}`, true, false},
		{"callback data", "application/json", `{"type":4,"data":{"allowed_mentions":{"parse":[]}}}`, true, true},
		{"multipart", ct, string(multipart), true, true},
		{"not json", "text/plain", `hello`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Request{Header: http.Header{"Content-Type": {tt.contentType}}, Body: []byte(tt.body)}
			present, empty := r.AllowedMentionsEmpty()
			if present != tt.present || empty != tt.empt {
				t.Errorf("got present=%v empty=%v, want %v %v", present, empty, tt.present, tt.empt)
			}
		})
	}
}
