package discordtest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// Gateway opcodes the fake speaks.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opResume         = 6
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

const writeTimeout = 5 * time.Second

// gwConn is one gateway websocket. Its fields and all writes to ws are guarded by Server.mu.
type gwConn struct {
	ws      *websocket.Conn
	ready   bool
	session string
}

type frame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  *string         `json:"t"`
}

func (c *gwConn) write(op int, t string, seq int64, d any) error {
	raw, ok := d.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(d); err != nil {
			return err
		}
	}
	f := frame{Op: op, D: raw}
	if op == opDispatch {
		f.S, f.T = &seq, &t
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveGateway runs one gateway connection: HELLO, then IDENTIFY or RESUME, then heartbeats
// until the client or the fake closes it. All writes happen under s.mu (dispatches too), so
// sequence numbers reach each client in order; the reader is the only other user of c.ws.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered with an HTTP error
	}
	c := &gwConn{ws: ws}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wsWG.Add(1)
	err = c.write(opHello, "", 0, map[string]any{"heartbeat_interval": s.cfg.heartbeat.Milliseconds()})
	s.mu.Unlock()
	defer s.wsWG.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.notifyLocked()
		s.mu.Unlock()
		ws.Close()
	}()
	if err != nil {
		return
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var f frame
		if err := json.Unmarshal(msg, &f); err != nil {
			s.closeWith(c, 4002, "Decode error")
			return
		}
		if !s.handleFrame(c, f) {
			return
		}
	}
}

// handleFrame answers one client payload; it returns false when the connection must end.
func (s *Server) handleFrame(c *gwConn, f frame) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return false // dropped
	}
	switch f.Op {
	case opHeartbeat:
		s.stats.Heartbeats++
		s.notifyLocked()
		return c.write(opHeartbeatACK, "", 0, nil) == nil
	case opIdentify:
		id := Identify{Raw: f.D}
		if err := json.Unmarshal(f.D, &id); err != nil {
			s.closeWithLocked(c, 4002, "Decode error")
			return false
		}
		s.identifies = append(s.identifies, id)
		s.stats.Identifies++
		s.notifyLocked()
		if s.cfg.token != "" && id.Token != "Bot "+s.cfg.token {
			s.closeWithLocked(c, 4004, "Authentication failed.")
			return false
		}
		return s.sendReadyLocked(c)
	case opResume:
		var res struct {
			Token     string `json:"token"`
			SessionID string `json:"session_id"`
			Seq       int64  `json:"seq"`
		}
		if err := json.Unmarshal(f.D, &res); err != nil {
			s.closeWithLocked(c, 4002, "Decode error")
			return false
		}
		s.stats.Resumes++
		s.notifyLocked()
		if !s.sessions[res.SessionID] || (s.cfg.token != "" && res.Token != "Bot "+s.cfg.token) {
			// discordgo answers op 9 with a fresh IDENTIFY.
			return c.write(opInvalidSession, "", 0, false) == nil
		}
		s.seq++
		if err := c.write(opDispatch, "RESUMED", s.seq, struct{}{}); err != nil {
			return false
		}
		c.ready, c.session = true, res.SessionID
		s.notifyLocked()
		return true
	default:
		if !c.ready {
			s.closeWithLocked(c, 4003, "Not authenticated.")
			return false
		}
		return true // presence updates, member requests, ...: ignored
	}
}

// Identify is a received IDENTIFY payload. (discordgo.Identify does not survive a JSON round
// trip: its presence has a time field Discord sends as a number.)
type Identify struct {
	Token          string           `json:"token"` // as sent, with its "Bot " prefix
	Intents        discordgo.Intent `json:"intents"`
	Shard          *[2]int          `json:"shard"`
	Compress       bool             `json:"compress"`
	LargeThreshold int              `json:"large_threshold"`
	Raw            json.RawMessage  `json:"-"` // the whole "d" object
}

func (s *Server) sendReadyLocked(c *gwConn) bool {
	session := "session-" + s.newIDLocked()
	s.sessions[session] = true
	guilds := make([]map[string]any, 0, len(s.cfg.guilds))
	for _, g := range s.cfg.guilds {
		guilds = append(guilds, map[string]any{"id": g, "unavailable": true})
	}
	ready := map[string]any{
		"v":                  10,
		"session_id":         session,
		"resume_gateway_url": s.GatewayURL(),
		"user":               s.BotUser(),
		"application":        map[string]any{"id": s.cfg.appID, "flags": 0},
		"guilds":             guilds,
		"private_channels":   []any{},
		"shard":              []int{0, 1},
	}
	s.seq++
	if err := c.write(opDispatch, "READY", s.seq, ready); err != nil {
		return false
	}
	for _, g := range s.cfg.guilds {
		channels := []*discordgo.Channel{}
		for _, ch := range s.channels {
			if ch.GuildID == g {
				channels = append(channels, ch)
			}
		}
		s.seq++
		guild := map[string]any{"id": g, "name": "guild-" + g, "channels": channels, "threads": []any{}, "members": []any{}, "roles": []any{}}
		if err := c.write(opDispatch, "GUILD_CREATE", s.seq, guild); err != nil {
			return false
		}
	}
	c.ready, c.session = true, session
	s.notifyLocked()
	return true
}

func (s *Server) closeWith(c *gwConn, code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeWithLocked(c, code, text)
}

func (s *Server) closeWithLocked(c *gwConn, code int, text string) {
	msg := websocket.FormatCloseMessage(code, text)
	c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeTimeout))
	delete(s.conns, c)
	s.notifyLocked()
}

// Dispatch sends event t (op 0, with the next sequence number) carrying d, marshalled as JSON
// unless it is a json.RawMessage, to every connection that has completed IDENTIFY or RESUME.
// It fails the test when no such connection exists: call WaitConnected first.
func (s *Server) Dispatch(t string, d any) {
	s.tb.Helper()
	raw, ok := d.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(d); err != nil {
			s.tb.Errorf("discordtest: Dispatch %s: %v", t, err)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := 0
	for c := range s.conns {
		if !c.ready {
			continue
		}
		if c.write(opDispatch, t, s.seq+1, raw) == nil {
			sent++
		}
	}
	s.seq++
	if sent == 0 {
		s.tb.Errorf("discordtest: Dispatch %s: no connected gateway client (call WaitConnected first)", t)
	}
}

// DropConnections closes every gateway websocket abruptly, without a close frame, as a
// network failure would. The connections stop counting as connected before it returns;
// discordgo then reconnects with RESUME, after the one-second sleep in its Close.
//
// discordgo's heartbeat goroutine races its Close: a drop while it is between sending a
// heartbeat and setting Session.DataReady can make discordgo close the resumed connection and
// resume a second time. Drop only once the session's DataReady is true.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.ws.NetConn().Close()
		delete(s.conns, c)
	}
	s.notifyLocked()
}
