package socketio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig"
)

// This file is the server the official clients are tested against (Node's
// socket.io-client, the browser bundle, the Go library's client): a rig of
// Parley servers whose sockets answer a small set of events, so that a
// client script can drive every behaviour under test and check it from the
// client's side. Servers are made on demand ("server" event) with the
// configuration a scenario needs, and closed at its end ("drop-server").
//
// Events every socket answers (args are JSON objects unless said):
//
//	whoami                   ack {id, nsp, engineId, transport, recovered, rooms, data}
//	echo ...args             ack with the same args (binary included)
//	echo-event ...args       emits "echoed" with the same args
//	digest ...args           ack with each arg's shape: binary as {$bin: length, sha: sha-256}
//	server-binary            ack and emit "server-binary" with binaryFixture()
//	ask {event, timeoutMs, args, binary}
//	                         EmitWithAck to the client, then emits "ask-result" {tag, args, shapes, err}
//	join rooms... / leave room   ack with the socket's rooms
//	op {...}                 a namespace operation, see opRequest
//	relay {to, except, event, args}   Socket.To(...).Except(...).Emit: everyone but the sender
//	disconnect-me {close}    Socket.Disconnect(close)
//	reason {id, n}           ack with the n-th disconnect reason of socket id (waits)
//	seq n / seq-done         records n / ack with the numbers received, in order
//	stream-stop              stops the "stream" events of a socket connected with auth {stream: true}
//	handled                  ack {events, errors}: events handled, errors of the event middleware
//	forbidden / allowed      refused / let through by the event middleware
//	mw-runs {id}             ack with how many times the connection middlewares ran for id
//	server {pingIntervalMs, pingTimeoutMs, recovery, runMiddlewares}   ack {url} of a new server
//	drop-server {url}        closes that server (its sockets see "server shutting down"), then acks
type rig struct {
	t *testing.T

	mu      sync.Mutex
	cond    *sync.Cond
	servers map[string]*rigServer // by base URL
	reasons map[string][]DisconnectReason
	mwRuns  map[string]int
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, servers: make(map[string]*rigServer), reasons: make(map[string][]DisconnectReason), mwRuns: make(map[string]int)}
	r.cond = sync.NewCond(&r.mu)
	t.Cleanup(r.closeAll)
	return r
}

// rigOptions configure a server of the rig.
type rigOptions struct {
	PingIntervalMs int  `json:"pingIntervalMs"`
	PingTimeoutMs  int  `json:"pingTimeoutMs"`
	Recovery       bool `json:"recovery"`
	RunMiddlewares bool `json:"runMiddlewares"`
}

// rigServer is one Parley server of the rig.
type rigServer struct {
	r   *rig
	io  *Server
	ts  *httptest.Server
	url string
	mux *http.ServeMux

	mu        sync.Mutex
	states    map[*Socket]*sockState
	upgrading map[string]bool // engine sessions with a WebSocket upgrade under way
}

// sockState is what the rig keeps of a socket.
type sockState struct {
	mu      sync.Mutex
	seq     []any
	handled []string
	errors  []string
	stream  int  // next stream number
	stopped bool // stream stopped
}

// rigMaxPayload lets a 1 MiB binary through in both directions, over long
// polling too (base64 makes it 1.4 MB; Node's maxHttpBufferSize would need
// the same raise).
const rigMaxPayload = 4 << 20

// start makes a server; extra routes may be added to its mux.
func (r *rig) start(o rigOptions) *rigServer {
	cfg := Config{Logger: slog.New(slog.DiscardHandler)}
	if os.Getenv("RIG_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Engine.MaxPayload = rigMaxPayload
	cfg.Engine.MaxQueue = 2 * rigMaxPayload
	cfg.Engine.PingInterval = time.Duration(o.PingIntervalMs) * time.Millisecond
	cfg.Engine.PingTimeout = time.Duration(o.PingTimeoutMs) * time.Millisecond
	if o.Recovery {
		cfg.Recovery = &Recovery{RunMiddlewares: o.RunMiddlewares}
	}
	rs := &rigServer{r: r, io: New(cfg), mux: http.NewServeMux(), states: make(map[*Socket]*sockState), upgrading: make(map[string]bool)}
	for _, name := range []string{"/", "/a", "/b"} {
		rs.setup(rs.io.Of(name))
	}
	mw := rs.io.Of("/mw")
	mw.Use(func(s *Socket) error {
		switch {
		case s.Auth()["plain"] == true:
			return errors.New("plain refusal")
		case s.Auth()["token"] != "let-me-in":
			return &ConnectError{Message: "not authorized", Data: map[string]any{"code": 401, "hint": "send a token"}}
		}
		return nil
	})
	rs.setup(mw)
	dyn := rs.io.OfFunc(func(name string, auth map[string]any) bool {
		return strings.HasPrefix(name, "/dyn-") && strings.Trim(name[5:], "0123456789") == "" && auth["key"] == "dyn"
	})
	dyn.Use(rs.countMiddleware)
	dyn.OnConnection(rs.onConnection)
	rs.mux.Handle("/socket.io/", http.HandlerFunc(rs.serveEngine))
	rs.ts = httptest.NewServer(rs.mux)
	rs.url = rs.ts.URL
	r.mu.Lock()
	r.servers[rs.url] = rs
	r.mu.Unlock()
	return rs
}

func (rs *rigServer) setup(n *Namespace) {
	n.Use(rs.countMiddleware)
	n.OnConnection(rs.onConnection)
}

func (rs *rigServer) countMiddleware(s *Socket) error {
	rs.r.mu.Lock()
	rs.r.mwRuns[s.ID()]++
	rs.r.mu.Unlock()
	s.SetData(map[string]any{"by": "middleware"})
	return nil
}

// serveEngine serves Socket.IO, and emits a burst of five "stream" events
// into every upgrade: once the WebSocket's handshake is done, and after
// each poll answered from then on, before the poll's answer leaves (net/http
// sends a small answer when the handler returns). The client's last poll
// may have been answered before its WebSocket request arrived (they travel
// on different connections), hence the first burst. The events of the last
// burst wait in the polling buffer until the client sends the upgrade
// packet, and must reach the client once, in order, over the new WebSocket.
func (rs *rigServer) serveEngine(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	sid := q.Get("sid")
	transport := q.Get("transport")
	if sid != "" && transport == "websocket" {
		rs.mu.Lock()
		rs.upgrading[sid] = true
		rs.mu.Unlock()
	}
	rs.io.ServeHTTP(w, req)
	if sid == "" || (transport == "polling" && req.Method != http.MethodGet) {
		return
	}
	rs.mu.Lock()
	upgrading := rs.upgrading[sid]
	rs.mu.Unlock()
	if !upgrading {
		return
	}
	for _, s := range rs.socketsOf(sid) {
		for range 5 {
			rs.streamOne(s, true)
		}
	}
}

// socketsOf returns the connected sockets of an engine session.
func (rs *rigServer) socketsOf(sid string) []*Socket {
	var out []*Socket
	for _, n := range rs.io.Namespaces() {
		for _, s := range n.LocalSockets() {
			if s.Conn().ID() == sid {
				out = append(out, s)
			}
		}
	}
	return out
}

// state returns the rig's state of a connected socket, or nil.
func (rs *rigServer) state(s *Socket) *sockState {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.states[s]
}

// streamOne emits the socket's next "stream" event: {n, during}, during
// being set for the burst of an upgrade. Numbers and writes go in the same
// order (the state's lock covers both).
func (rs *rigServer) streamOne(s *Socket, during bool) bool {
	st := rs.state(s)
	if st == nil {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopped {
		return false
	}
	if err := s.Emit("stream", map[string]any{"n": st.stream, "during": during}); err != nil {
		return false
	}
	st.stream++
	return true
}

func (rs *rigServer) onConnection(s *Socket) {
	st := &sockState{}
	rs.mu.Lock()
	rs.states[s] = st
	rs.mu.Unlock()
	s.OnDisconnect(func(reason DisconnectReason) {
		rs.r.mu.Lock()
		rs.r.reasons[s.ID()] = append(rs.r.reasons[s.ID()], reason)
		rs.r.cond.Broadcast()
		rs.r.mu.Unlock()
		rs.mu.Lock()
		delete(rs.states, s)
		rs.mu.Unlock()
	})
	s.Use(func(ev string, _ Args) error {
		if ev == "forbidden" {
			return errors.New("forbidden event")
		}
		return nil
	})
	s.OnError(func(err error) {
		st.mu.Lock()
		st.errors = append(st.errors, err.Error())
		st.mu.Unlock()
	})
	if s.Auth()["stream"] == true {
		go func() {
			for rs.streamOne(s, false) {
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	on := func(ev string, h func(args Args, ack Ack) any) {
		s.On(ev, func(args Args, ack Ack) {
			if res := h(args, ack); res != nil {
				_ = ack.Send(res)
			}
		})
	}
	on("whoami", func(Args, Ack) any {
		return map[string]any{
			"id": s.ID(), "nsp": s.Namespace().Name(), "engineId": s.Conn().ID(), "transport": s.Conn().Transport(),
			"recovered": s.Recovered(), "rooms": s.Rooms(), "data": s.Data(),
		}
	})
	s.On("echo", func(args Args, ack Ack) { _ = ack.Send(args.Values()...) })
	s.On("echo-event", func(args Args, _ Ack) { _ = s.Emit("echoed", args.Values()...) })
	s.On("digest", func(args Args, ack Ack) {
		shapes := make([]any, args.Len())
		for i := range shapes {
			shapes[i] = shape(args.Value(i))
		}
		_ = ack.Send(shapes...)
	})
	s.On("server-binary", func(_ Args, ack Ack) {
		_ = s.Emit("server-binary", binaryFixture()...)
		_ = ack.Send(binaryFixture()...)
	})
	s.On("ask", func(args Args, _ Ack) {
		var req struct {
			Tag       string `json:"tag"`
			Event     string `json:"event"`
			TimeoutMs int    `json:"timeoutMs"`
			Args      []any  `json:"args"`
			Binary    []int  `json:"binary"`
		}
		if err := args.Decode(0, &req); err != nil {
			return
		}
		values := append(req.Args, patterns(req.Binary)...)
		em := SocketEmitter{s: s}
		if req.TimeoutMs > 0 {
			em = s.Timeout(time.Duration(req.TimeoutMs) * time.Millisecond)
		}
		err := em.EmitWithAck(req.Event, func(res Args, err error) {
			out := map[string]any{"tag": req.Tag, "err": nil}
			if err != nil {
				out["err"] = err.Error()
			} else {
				vals := make([]any, res.Len())
				for i := range vals {
					vals[i] = shape(res.Value(i))
				}
				out["args"] = res.Values()
				out["shapes"] = vals
			}
			_ = s.Emit("ask-result", out)
		}, values...)
		if err != nil {
			_ = s.Emit("ask-result", map[string]any{"tag": req.Tag, "err": "emit: " + err.Error()})
		}
	})
	on("join", func(args Args, _ Ack) any {
		for i := range args.Len() {
			room, _ := args.String(i)
			s.Join(room)
		}
		return s.Rooms()
	})
	on("leave", func(args Args, _ Ack) any {
		room, _ := args.String(0)
		s.Leave(room)
		return s.Rooms()
	})
	s.On("op", func(args Args, ack Ack) {
		var req opRequest
		if err := args.Decode(0, &req); err != nil {
			_ = ack.Send(map[string]any{"err": err.Error()})
			return
		}
		// Off the reader: a broadcast with acks may wait for this client.
		go func() { _ = ack.Send(rs.op(req)) }()
	})
	on("relay", func(args Args, _ Ack) any {
		var req struct {
			To        []string `json:"to"`
			Except    []string `json:"except"`
			Event     string   `json:"event"`
			Args      []any    `json:"args"`
			Broadcast bool     `json:"broadcast"`
		}
		if err := args.Decode(0, &req); err != nil {
			return map[string]any{"err": err.Error()}
		}
		op := s.Broadcast()
		if len(req.To) > 0 {
			op = s.To(req.To...)
		}
		if len(req.Except) > 0 {
			op = op.Except(req.Except...)
		}
		if err := op.Emit(req.Event, req.Args...); err != nil {
			return map[string]any{"err": err.Error()}
		}
		return map[string]any{"ok": true}
	})
	s.On("disconnect-me", func(args Args, _ Ack) {
		var req struct {
			Close bool `json:"close"`
		}
		_ = args.Decode(0, &req)
		s.Disconnect(req.Close)
	})
	s.On("reason", func(args Args, ack Ack) {
		var req struct {
			ID string `json:"id"`
			N  int    `json:"n"`
		}
		_ = args.Decode(0, &req)
		go func() { _ = ack.Send(rs.r.reason(req.ID, max(req.N, 1))) }()
	})
	s.On("seq", func(args Args, _ Ack) {
		st.mu.Lock()
		st.seq = append(st.seq, args.Value(0))
		st.mu.Unlock()
	})
	on("seq-done", func(Args, Ack) any {
		st.mu.Lock()
		defer st.mu.Unlock()
		return append([]any{}, st.seq...)
	})
	on("stream-stop", func(Args, Ack) any {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.stopped = true
		return st.stream
	})
	for _, ev := range []string{"forbidden", "allowed"} {
		s.On(ev, func(_ Args, ack Ack) {
			st.mu.Lock()
			st.handled = append(st.handled, ev)
			st.mu.Unlock()
			_ = ack.Send("handled " + ev)
		})
	}
	on("handled", func(Args, Ack) any {
		st.mu.Lock()
		defer st.mu.Unlock()
		return map[string]any{"events": append([]string{}, st.handled...), "errors": append([]string{}, st.errors...)}
	})
	on("mw-runs", func(args Args, _ Ack) any {
		var req struct {
			ID string `json:"id"`
		}
		_ = args.Decode(0, &req)
		rs.r.mu.Lock()
		defer rs.r.mu.Unlock()
		return rs.r.mwRuns[req.ID]
	})
	on("server", func(args Args, _ Ack) any {
		var o rigOptions
		_ = args.Decode(0, &o)
		return map[string]any{"url": rs.r.start(o).url}
	})
	s.On("drop-server", func(args Args, ack Ack) {
		var req struct {
			URL string `json:"url"`
		}
		_ = args.Decode(0, &req)
		go func() {
			rs.r.drop(req.URL)
			_ = ack.Send(true)
		}()
	})
}

// opRequest is a namespace operation a client asks for ("op"): emit,
// emitWithAck, fetchSockets, socketsJoin, socketsLeave or
// disconnectSockets, on the sockets selected by to/in/except/local.
type opRequest struct {
	Action    string   `json:"action"`
	Nsp       string   `json:"nsp"`
	To        []string `json:"to"`
	In        []string `json:"in"`
	Except    []string `json:"except"`
	Local     bool     `json:"local"`
	Volatile  bool     `json:"volatile"`
	TimeoutMs *int     `json:"timeoutMs"`
	Event     string   `json:"event"`
	Args      []any    `json:"args"`
	Binary    []int    `json:"binary"`
	Rooms     []string `json:"rooms"`
	Close     bool     `json:"close"`
}

func (rs *rigServer) op(req opRequest) any {
	if req.Nsp == "" {
		req.Nsp = "/"
	}
	n := rs.io.Of(req.Nsp)
	var b BroadcastOperator
	switch {
	case len(req.To) > 0:
		b = n.To(req.To...)
	case len(req.In) > 0:
		b = n.In(req.In...)
	default:
		b = n.operator() // every socket
	}
	if len(req.Except) > 0 {
		b = b.Except(req.Except...)
	}
	if req.Local {
		b = b.Local()
	}
	if req.Volatile {
		b = b.Volatile()
	}
	if req.TimeoutMs != nil {
		b = b.Timeout(time.Duration(*req.TimeoutMs) * time.Millisecond)
	}
	args := append(req.Args, patterns(req.Binary)...)
	fail := func(err error) any { return map[string]any{"err": err.Error()} }
	switch req.Action {
	case "emit":
		if err := b.Emit(req.Event, args...); err != nil {
			return fail(err)
		}
		return map[string]any{"ok": true}
	case "emitWithAck":
		type result struct {
			responses []Args
			err       error
		}
		done := make(chan result, 1)
		if err := b.EmitWithAck(req.Event, func(responses []Args, err error) { done <- result{responses, err} }, args...); err != nil {
			return fail(err)
		}
		res := <-done
		values := make([]any, len(res.responses))
		for i, a := range res.responses {
			values[i] = a.Value(0)
		}
		sort.Slice(values, func(i, j int) bool { return fmt.Sprint(values[i]) < fmt.Sprint(values[j]) })
		out := map[string]any{"responses": values, "err": nil}
		if res.err != nil {
			out["err"] = res.err.Error()
		}
		return out
	case "fetchSockets":
		sockets, err := b.FetchSockets(context.Background())
		if err != nil {
			return fail(err)
		}
		out := make([]any, len(sockets))
		for i, s := range sockets {
			out[i] = map[string]any{"id": s.ID, "rooms": s.Rooms, "data": s.Data, "auth": s.Handshake.Auth, "local": s.Local() != nil}
		}
		return out
	case "socketsJoin":
		return errOrOK(b.SocketsJoin(req.Rooms...))
	case "socketsLeave":
		return errOrOK(b.SocketsLeave(req.Rooms...))
	case "disconnectSockets":
		return errOrOK(b.DisconnectSockets(req.Close))
	}
	return fail(fmt.Errorf("unknown action %q", req.Action))
}

func errOrOK(err error) any {
	if err != nil {
		return map[string]any{"err": err.Error()}
	}
	return map[string]any{"ok": true}
}

// reason waits for the n-th disconnect reason of socket id ("" after 5 s).
func (r *rig) reason(id string, n int) string {
	deadline := time.Now().Add(5 * time.Second)
	stop := time.AfterFunc(5*time.Second, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.reasons[id]) < n && time.Now().Before(deadline) {
		r.cond.Wait()
	}
	if len(r.reasons[id]) < n {
		return ""
	}
	return string(r.reasons[id][n-1])
}

// drop closes a server: its sockets disconnect with "server shutting down".
func (r *rig) drop(url string) {
	r.mu.Lock()
	rs := r.servers[url]
	delete(r.servers, url)
	r.mu.Unlock()
	if rs != nil {
		rs.close()
	}
}

func (rs *rigServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rs.io.Close(ctx); err != nil {
		rs.r.t.Errorf("closing %s: %v", rs.url, err)
	}
	rs.ts.Close()
}

func (r *rig) closeAll() {
	r.mu.Lock()
	servers := make([]*rigServer, 0, len(r.servers))
	for _, rs := range r.servers {
		servers = append(servers, rs)
	}
	r.servers = map[string]*rigServer{}
	r.mu.Unlock()
	for _, rs := range servers {
		rs.close()
	}
}

// pattern returns n bytes that depend on n and on their position; clients
// build the same bytes to compare.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*7 + n) % 251)
	}
	return b
}

func patterns(sizes []int) []any {
	out := make([]any, len(sizes))
	for i, n := range sizes {
		out[i] = pattern(n)
	}
	return out
}

// binaryFixture is what the server sends as binary: empty, 1 MiB, nested in
// objects and arrays, several attachments in one packet.
func binaryFixture() []any {
	return []any{
		pattern(0),
		pattern(1 << 20),
		map[string]any{"a": pattern(3), "nested": []any{pattern(5), map[string]any{"b": pattern(7), "text": "t"}}},
		[]any{pattern(1), pattern(2), "x", 42},
		"plain",
	}
}

// shape describes a decoded argument with every binary replaced by its
// length and SHA-256, which clients compute the same way.
func shape(v any) any {
	return testrig.MapLeaves(v, func(v any) any {
		b, ok := v.([]byte)
		if !ok {
			return v
		}
		sum := sha256.Sum256(b)
		return map[string]any{"$bin": len(b), "sha": hex.EncodeToString(sum[:])}
	})
}
