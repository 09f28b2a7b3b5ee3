package chattest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// raw is a minimal Engine.IO 4 / Socket.IO 5 client written for tests: long
// polling, and optionally the upgrade to WebSocket exactly as socket.io-client
// performs it (2probe, 3probe, 5). It exists because the Go library's client
// loses emits over long polling; the protocol is small enough to speak
// directly, which also lets tests see the server's exact bytes.
type raw struct {
	rec   *recorder
	base  string
	sid   string
	httpc *http.Client
	ctx   context.Context
	stop  context.CancelFunc
	// out carries Engine.IO packets to the writer goroutine, which owns the
	// transport's write side (one POST at a time, as the protocol requires).
	out  chan string
	done sync.WaitGroup
	// written is closed when the writer has sent the Engine.IO close packet
	// (or given up).
	written chan struct{}
	// upgraded hands the probed WebSocket to the writer, which sends the
	// upgrade packet on it before anything else.
	upgraded chan *websocket.Conn
	// paused is closed when the polling loop has stopped.
	paused chan struct{}

	mu        sync.Mutex
	upgrading bool            // set once the probe succeeded
	ws        *websocket.Conn // set once the upgrade packet is sent
	acks      map[uint64]func([]any)
	nextAck   uint64
	closed    bool
}

// handshake is the Engine.IO open packet.
type handshake struct {
	SID      string   `json:"sid"`
	Upgrades []string `json:"upgrades"`
}

// rawMode is how a raw client reaches the server.
type rawMode int

const (
	rawPolling   rawMode = iota // long polling only
	rawUpgrade                  // long polling, then the upgrade to WebSocket
	rawWebSocket                // WebSocket from the start
)

func dialRaw(rec *recorder, base string, auth map[string]any, mode rawMode) (*raw, error) {
	ctx, stop := context.WithCancel(context.Background())
	r := &raw{rec: rec, base: strings.TrimRight(base, "/") + "/socket.io/?EIO=4",
		httpc: &http.Client{Timeout: 60 * time.Second}, ctx: ctx, stop: stop,
		out: make(chan string, 256), written: make(chan struct{}), upgraded: make(chan *websocket.Conn, 1), acks: make(map[uint64]func([]any))}
	open, err := r.open(mode)
	if err != nil {
		stop()
		return nil, err
	}
	var hs handshake
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &hs) != nil || hs.SID == "" {
		r.close()
		return nil, fmt.Errorf("chattest: handshake answered %q", open)
	}
	r.sid = hs.SID
	connect := "40"
	if auth != nil {
		b, _ := json.Marshal(auth)
		connect += string(b)
	}
	r.out <- connect
	r.done.Add(1)
	go r.writeLoop()
	if mode == rawWebSocket {
		return r, nil
	}
	r.done.Add(1)
	r.paused = make(chan struct{})
	go r.pollLoop()
	if mode == rawUpgrade {
		if err := r.upgrade(); err != nil {
			r.close()
			return nil, err
		}
	}
	return r, nil
}

// open performs the Engine.IO handshake and returns the open packet.
func (r *raw) open(mode rawMode) (string, error) {
	if mode != rawWebSocket {
		return r.get(r.base + "&transport=polling")
	}
	u := "ws" + strings.TrimPrefix(r.base, "http") + "&transport=websocket"
	ws, _, err := websocket.DefaultDialer.DialContext(r.ctx, u, nil)
	if err != nil {
		return "", fmt.Errorf("chattest: websocket dial: %w", err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, m, err := ws.ReadMessage()
	_ = ws.SetReadDeadline(time.Time{})
	if err != nil {
		_ = ws.Close()
		return "", fmt.Errorf("chattest: websocket open packet: %w", err)
	}
	r.ws = ws
	r.done.Add(1)
	go r.readWS(ws)
	return string(m), nil
}

func (r *raw) pollURL() string { return r.base + "&transport=polling&sid=" + url.QueryEscape(r.sid) }

func (r *raw) get(u string) (string, error) {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := r.httpc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("chattest: GET answered %d %q", resp.StatusCode, b)
	}
	return string(b), err
}

// writeLoop sends queued packets: batched into one POST while polling, one
// frame each once upgraded.
func (r *raw) writeLoop() {
	defer r.done.Done()
	defer close(r.written)
	for {
		var first string
		select {
		case ws := <-r.upgraded:
			if err := r.switchTo(ws); err != nil {
				r.lost(err)
				return
			}
			continue
		case first = <-r.out:
		case <-r.ctx.Done():
			return
		}
		batch := []string{first}
		for more := true; more; {
			select {
			case p := <-r.out:
				batch = append(batch, p)
			default:
				more = false
			}
		}
		if err := r.write(batch); err != nil {
			r.lost(err)
			return
		}
		if slices.Contains(batch, "1") { // our close packet: nothing follows
			return
		}
	}
}

func (r *raw) write(batch []string) error {
	r.mu.Lock()
	ws := r.ws
	r.mu.Unlock()
	if ws != nil {
		for _, p := range batch {
			if err := ws.WriteMessage(websocket.TextMessage, []byte(p)); err != nil {
				return err
			}
		}
		return nil
	}
	req, err := http.NewRequestWithContext(r.ctx, http.MethodPost, r.pollURL(), strings.NewReader(strings.Join(batch, "\x1e")))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := r.httpc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("chattest: POST answered %d", resp.StatusCode)
	}
	return nil
}

// switchTo completes the upgrade: the upgrade packet is the first packet on
// the WebSocket, and no POST is in flight (the writer is the only one).
func (r *raw) switchTo(ws *websocket.Conn) error {
	if err := ws.WriteMessage(websocket.TextMessage, []byte("5")); err != nil {
		return err
	}
	r.mu.Lock()
	r.ws = ws
	r.mu.Unlock()
	r.done.Add(1)
	go r.readWS(ws)
	return nil
}

// pollLoop reads packets by long polling until the transport is upgraded
// or closed.
func (r *raw) pollLoop() {
	defer r.done.Done()
	defer close(r.paused)
	for {
		body, err := r.get(r.pollURL())
		r.mu.Lock()
		upgraded := r.upgrading
		r.mu.Unlock()
		if err != nil && upgraded {
			return // the server ended polling because of the upgrade
		}
		if err != nil {
			r.lost(err)
			return
		}
		for _, p := range strings.Split(body, "\x1e") {
			if upgraded && p == "1" {
				continue // the server closes the old transport
			}
			if !r.onPacket(p) {
				return
			}
		}
		if upgraded {
			return
		}
	}
}

// upgrade moves the session to WebSocket the way socket.io-client does.
func (r *raw) upgrade() error {
	u := "ws" + strings.TrimPrefix(r.base, "http") + "&transport=websocket&sid=" + url.QueryEscape(r.sid)
	ws, _, err := websocket.DefaultDialer.DialContext(r.ctx, u, nil)
	if err != nil {
		return fmt.Errorf("chattest: upgrade dial: %w", err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
		_ = ws.Close()
		return err
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, m, err := ws.ReadMessage()
	if err != nil || string(m) != "3probe" {
		_ = ws.Close()
		return fmt.Errorf("chattest: upgrade probe answered %q, %v", m, err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	r.mu.Lock()
	r.upgrading = true
	r.mu.Unlock()
	// Like socket.io-client, pause polling before the upgrade packet: the
	// poll in flight ends (the server answers it at once once probed) and
	// no other starts.
	select {
	case <-r.paused:
	case <-time.After(10 * time.Second):
		_ = ws.Close()
		return errors.New("chattest: polling did not pause for the upgrade")
	}
	r.upgraded <- ws
	return nil
}

func (r *raw) readWS(ws *websocket.Conn) {
	defer r.done.Done()
	for {
		_, m, err := ws.ReadMessage()
		if err != nil {
			r.lost(err)
			return
		}
		if !r.onPacket(string(m)) {
			return
		}
	}
}

// onPacket handles one Engine.IO packet; false ends the session.
func (r *raw) onPacket(p string) bool {
	if p == "" {
		return true
	}
	switch p[0] {
	case '2': // ping
		r.send("3")
	case '1': // close
		r.lost(errors.New("transport close"))
		return false
	case '4':
		r.onSocketPacket(p[1:])
	}
	return true
}

// onSocketPacket handles a Socket.IO packet of the main namespace.
func (r *raw) onSocketPacket(p string) {
	if p == "" {
		return
	}
	kind, rest := p[0], p[1:]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	id, hasID := uint64(0), i > 0
	if hasID {
		id, _ = strconv.ParseUint(rest[:i], 10, 64)
	}
	var data any
	if rest[i:] != "" {
		if err := json.Unmarshal([]byte(rest[i:]), &data); err != nil {
			r.rec.record(Event{Name: "malformed", Args: []any{p}})
			return
		}
	}
	switch kind {
	case '0':
		r.rec.record(Event{Name: "connect"})
	case '1':
		r.rec.record(Event{Name: "disconnect", Args: []any{"io server disconnect"}})
	case '2':
		if args, ok := data.([]any); ok && len(args) > 0 {
			name, _ := args[0].(string)
			r.rec.record(Event{Name: name, Args: args[1:]})
		}
	case '3':
		r.mu.Lock()
		fn := r.acks[id]
		delete(r.acks, id)
		r.mu.Unlock()
		if args, ok := data.([]any); ok && fn != nil {
			fn(args)
		}
	case '4':
		r.rec.record(Event{Name: "connect_error", Args: []any{data}})
	}
}

func (r *raw) send(p string) {
	select {
	case r.out <- p:
	case <-r.ctx.Done():
	}
}

func (r *raw) emit(event string, args []any, ack func([]any)) error {
	b, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return err
	}
	p := "42"
	if ack != nil {
		r.mu.Lock()
		id := r.nextAck
		r.nextAck++
		r.acks[id] = ack
		r.mu.Unlock()
		p += strconv.FormatUint(id, 10)
	}
	r.send(p + string(b))
	return nil
}

// lost records the end of the session once, unless the test closed it.
func (r *raw) lost(err error) {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if !already && r.ctx.Err() == nil {
		r.rec.record(Event{Name: "disconnect", Args: []any{"transport close", err.Error()}})
	}
	r.stop()
}

// close disconnects like socket.io-client's disconnect(): a Socket.IO
// DISCONNECT then an Engine.IO close, sent by the writer after anything
// queued, and waits for the goroutines.
func (r *raw) close() {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if !already {
		r.send("41")
		r.send("1")
		select {
		case <-r.written:
		case <-time.After(5 * time.Second):
		}
	}
	r.stop()
	r.mu.Lock()
	ws := r.ws
	r.mu.Unlock()
	if ws != nil {
		_ = ws.Close()
	}
	r.done.Wait()
}
