package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/timers"
	"github.com/parley-chat/parley/wstransport"
)

// Error codes of Engine.IO error answers, with Node's messages.
const (
	codeUnknownTransport   = 0
	codeUnknownSID         = 1
	codeBadHandshakeMethod = 2
	codeBadRequest         = 3
	codeForbidden          = 4
	codeUnsupportedVersion = 5
)

var codeMessages = [...]string{"Transport unknown", "Session ID unknown", "Bad handshake method", "Bad request", "Forbidden", "Unsupported protocol version"}

// requestError is a refused request: its code and, when not Node's
// standard message, its own.
type requestError struct {
	code    int
	message string
}

func (e *requestError) Error() string {
	if e.message != "" {
		return e.message
	}
	return codeMessages[e.code]
}

var (
	errUnknownTransport = &requestError{code: codeUnknownTransport}
	errUnknownSID       = &requestError{code: codeUnknownSID}
	errBadMethod        = &requestError{code: codeBadHandshakeMethod}
	errBadRequest       = &requestError{code: codeBadRequest}
	errBadVersion       = &requestError{code: codeUnsupportedVersion}
)

// ErrForbidden is what AllowRequest returns to refuse a request with Node's
// standard message ("Forbidden") rather than one of its own.
var ErrForbidden = errors.New("engineio: forbidden")

// Server is an Engine.IO 4 server: an http.Handler to mount at the
// Engine.IO path (socket.io's /socket.io/). New sessions are given to the
// function set with OnConnection.
type Server struct {
	cfg       Config
	log       *slog.Logger
	ws        *wstransport.Server
	ownWS     bool
	timers    *timers.Heap
	ownTimers bool
	connect   func(*Conn) Handler

	mu     sync.RWMutex
	conns  map[string]*Conn
	closed bool
}

// New returns a Server. Set OnConnection before serving requests.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, ws: cfg.WebSocket, timers: cfg.Timers, conns: make(map[string]*Conn)}
	if s.ws == nil {
		s.ws = wstransport.New(wstransport.Config{MaxPayload: cfg.MaxPayload, MaxQueue: cfg.MaxQueue, Logger: cfg.Logger})
		s.ownWS = true
	}
	if s.timers == nil {
		s.timers = timers.New()
		s.ownTimers = true
	}
	s.connect = func(*Conn) Handler { return nopHandler{} }
	return s
}

// OnConnection sets the function that receives every new session and
// returns its Handler. It runs before the session's first message is read.
func (s *Server) OnConnection(fn func(c *Conn) Handler) { s.connect = fn }

// WebSocket returns the server's WebSocket transport (its metrics, say).
func (s *Server) WebSocket() *wstransport.Server { return s.ws }

// Timers returns the heap that holds the sessions' heartbeats.
func (s *Server) Timers() *timers.Heap { return s.timers }

// ClientsCount returns the number of open sessions.
func (s *Server) ClientsCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.conns)
}

// PollingCount returns the number of open sessions on long polling: not,
// or not yet, upgraded to WebSocket (a session its client closed over
// polling may count for a second more, while it waits for a late poll). It
// looks at every session, for periodic statistics (the admin UI's), so
// that sessions pay nothing to be counted.
func (s *Server) PollingCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, c := range s.conns {
		if c.ws.Load() == nil {
			n++
		}
	}
	return n
}

// Conns returns the open sessions.
func (s *Server) Conns() []*Conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	return out
}

type nopHandler struct{}

func (nopHandler) OnMessage(*Conn, []byte, bool) {}
func (nopHandler) OnClose(*Conn, string)         {}

// ServeHTTP serves Engine.IO requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.CORS != nil && s.cfg.CORS.apply(w, r) {
		return // a preflight request, answered
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, errBadRequest)
		return
	}
	transport, sid := q.Get("transport"), q.Get("sid")
	upgrade := wstransport.IsUpgrade(r)
	if !s.cfg.allows(transport) {
		s.fail(w, r, errUnknownTransport)
		return
	}
	if !validHeaderValue(r.Header.Get("Origin")) {
		s.fail(w, r, errBadRequest)
		return
	}
	if sid != "" {
		s.serveSession(w, r, sid, transport, upgrade)
		return
	}
	switch {
	case r.Method != http.MethodGet:
		s.fail(w, r, errBadMethod)
	case transport == WebSocket && !upgrade:
		s.fail(w, r, errBadRequest)
	case q.Get("EIO") != "4":
		s.fail(w, r, errBadVersion)
	case upgrade:
		s.serveWebSocket(w, r, "")
	case transport == WebSocket:
		s.fail(w, r, errBadRequest)
	default:
		s.openPolling(w, r)
	}
}

// serveSession serves a request of an existing session.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, sid, transport string, upgrade bool) {
	c := s.conn(sid)
	if c == nil {
		s.fail(w, r, errUnknownSID)
		return
	}
	if !upgrade && transport != c.Transport() {
		s.fail(w, r, errBadRequest)
		return
	}
	switch {
	case upgrade && transport == WebSocket:
		s.serveWebSocket(w, r, sid)
	case upgrade:
		s.fail(w, r, errBadRequest) // only WebSocket takes upgrades
	case r.Method == http.MethodGet:
		s.servePoll(w, r, c)
	case r.Method == http.MethodPost:
		s.servePost(w, r, c)
	default:
		w.WriteHeader(http.StatusInternalServerError) // as Node's polling transport
	}
}

// admit asks AllowRequest whether a new session may open, and refuses it
// when not.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		http.Error(w, "engineio: server shutting down", http.StatusServiceUnavailable)
		return false
	}
	if s.cfg.AllowRequest == nil {
		return true
	}
	if err := s.cfg.AllowRequest(r); err != nil {
		e := &requestError{code: codeForbidden}
		if !errors.Is(err, ErrForbidden) {
			e.message = err.Error()
		}
		s.fail(w, r, e)
		return false
	}
	return true
}

// openPolling opens a session over long polling: the handshake GET is
// answered with the open packet.
func (s *Server) openPolling(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r) {
		return
	}
	c := s.newConn(newID(), r)
	c.poll = &polling{}
	c.poll.add(c, Open, s.openPacket(c.id, Polling)[1:], false)
	if len(s.cfg.InitialPacket) > 0 {
		c.poll.add(c, Message, s.cfg.InitialPacket, false)
	}
	if !s.register(c) {
		http.Error(w, "engineio: server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.setCookie(w.Header(), c.id)
	s.servePoll(w, r, c)
}

// setCookie adds the session cookie, when configured, to the headers of a
// handshake response.
func (s *Server) setCookie(h http.Header, sid string) {
	if s.cfg.Cookie == nil {
		return
	}
	cookie := *s.cfg.Cookie
	cookie.Value = sid
	if v := cookie.String(); v != "" {
		h.Add("Set-Cookie", v)
	}
}

// newConn builds the session sid for the handshake request r and gets its
// handler. The session is not registered yet.
func (s *Server) newConn(sid string, r *http.Request) *Conn {
	c := &Conn{id: sid, srv: s, req: newRequest(r)}
	c.h = s.connect(c)
	if c.h == nil {
		c.h = nopHandler{}
	}
	return c
}

// register makes c findable by its id and starts its heartbeat; false when
// the server is shutting down.
func (s *Server) register(c *Conn) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.conns[c.id] = c
	s.mu.Unlock()
	c.mu.Lock()
	s.timers.Schedule(&c.hb, s.cfg.PingInterval, (*heartbeat)(c))
	c.mu.Unlock()
	return true
}

func (s *Server) conn(sid string) *Conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.conns[sid]
}

func (s *Server) remove(c *Conn) {
	s.mu.Lock()
	if s.conns[c.id] == c {
		delete(s.conns, c.id)
	}
	s.mu.Unlock()
}

// openPacket is the open packet of a new session, type included.
func (s *Server) openPacket(sid, transport string) []byte {
	upgrades := []string{}
	if transport == Polling && !s.cfg.DisableUpgrades && s.cfg.allows(WebSocket) {
		upgrades = append(upgrades, WebSocket)
	}
	b, _ := json.Marshal(struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}{sid, upgrades, s.cfg.PingInterval.Milliseconds(), s.cfg.PingTimeout.Milliseconds(), s.cfg.MaxPayload})
	return append([]byte{byte(Open)}, b...)
}

// newID returns a session or socket id as Node's base64id makes them: 15
// random bytes in URL-safe base64 (20 characters).
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// NewID returns a new random id of the form of session ids; the Socket.IO
// server names its sockets with it.
func NewID() string { return newID() }

// fail refuses a request as Node's engine.io does: a JSON error for HTTP
// requests (403 for code 4, else 400), a plain 400 for WebSocket handshakes.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, e *requestError) {
	s.log.Debug("engineio: request refused", "code", e.code, "message", e.Error(), "method", r.Method, "url", r.URL.String(), "remote", r.RemoteAddr)
	if wstransport.IsUpgrade(r) {
		msg := e.Error()
		h := w.Header()
		h.Set("Connection", "close")
		h.Set("Content-Type", "text/html")
		h.Set("Content-Length", strconv.Itoa(len(msg)))
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, msg)
		return
	}
	status := http.StatusBadRequest
	if e.code == codeForbidden {
		status = http.StatusForbidden
	}
	writeJSONError(w, status, e.code, e.message)
}

func writeJSONError(w http.ResponseWriter, status, code int, message string) {
	if message == "" {
		message = codeMessages[code]
	}
	b, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// validHeaderValue reports whether v has no character Node refuses in a
// header (it answers code 3 to an Origin with such characters).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func parseQuery(q string) (map[string][]string, error) { return url.ParseQuery(q) }

// Shutdown closes every session (a close frame, or a close packet to a
// waiting poll; a polling client with no poll waiting is dropped, as Node
// does on close) and stops the WebSocket transport and the timers the
// Server made itself, waiting for them until ctx is done. New sessions are
// refused from the start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeNow(ReasonForcedClose, false)
	}
	var err error
	if s.ownWS {
		// Clients answer the close frames; whoever has not within half of
		// the time left is dropped.
		wait := 2 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = time.Until(dl) / 2
		}
		s.ws.AwaitIdle(ctx, wait)
		if e := s.ws.Shutdown(ctx); e != nil {
			err = fmt.Errorf("engineio: shutdown: %w", e)
		}
	}
	if s.ownTimers {
		s.timers.Close()
	}
	return err
}
