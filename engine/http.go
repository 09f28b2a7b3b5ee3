package engine

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	eioparser "github.com/zishang520/socket.io/parsers/engine/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// Engine.IO error answers, as Node's engine.io words them.
const (
	errBadRequest         = `{"code":3,"message":"Bad request"}`
	errForbidden          = `{"code":4,"message":"Forbidden"}`
	errUnsupportedVersion = `{"code":5,"message":"Unsupported protocol version"}`
)

// pollCloseGrace is how long a pending long-polling GET may stay unanswered
// after its session closed before Parley answers it itself.
const pollCloseGrace = time.Second

// ServeHTTP serves Engine.IO requests (mount it at /socket.io/). It applies
// the origin policy, then the protocol fixes that make the library behave like
// Node's engine.io towards real clients, then hands the request to the
// library.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ok, same := e.origins.check(r)
	if !ok {
		e.log.Debug("engine: request from a disallowed origin", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		writeJSONError(w, http.StatusForbidden, errForbidden)
		return
	}
	if same {
		// The library would check a same-origin WebSocket upgrade against
		// the cross-origin allowlist; without the header it lets it through
		// and records the handshake as not cross-domain, which it is not.
		r.Header = r.Header.Clone()
		r.Header.Del("Origin")
	}
	q := r.URL.Query()
	sid := q.Get("sid")
	// Node answers code 5; the library says 4 (Forbidden).
	if sid == "" && q.Get("EIO") != "4" {
		writeJSONError(w, http.StatusBadRequest, errUnsupportedVersion)
		return
	}
	if isWebSocketUpgrade(r) {
		e.serveUpgrade(w, r)
		return
	}
	if sid == "" || q.Get("transport") != "polling" || isUpgrade(r) {
		e.handler.ServeHTTP(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		e.servePollData(w, r, sid)
	case http.MethodGet:
		e.servePoll(w, r, sid)
	default:
		e.handler.ServeHTTP(w, r)
	}
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// servePollData checks a polling POST body before the library sees it. The
// library ignores decoding errors and answers 200, leaving a session open
// after garbage; Node closes the session and answers 400, and so do we.
func (e *Engine) servePollData(w http.ResponseWriter, r *http.Request, sid string) {
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		e.handler.ServeHTTP(w, r) // the library rejects binary bodies on EIO 4
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, e.cfg.MaxPayload+1))
	_ = r.Body.Close()
	switch {
	case err != nil:
		e.log.Debug("engine: reading polling body", "sid", sid, "err", err)
		e.closeSession(sid)
		writeJSONError(w, http.StatusBadRequest, errBadRequest)
		return
	case int64(len(body)) > e.cfg.MaxPayload:
		e.log.Info("engine: polling body above the maximum payload, closing session", "sid", sid, "max", e.cfg.MaxPayload)
		e.closeSession(sid)
		writeJSONError(w, http.StatusRequestEntityTooLarge, errBadRequest)
		return
	case !validPayload(body):
		e.log.Info("engine: invalid polling payload, closing session", "sid", sid, "bytes", len(body), "remote", r.RemoteAddr)
		e.closeSession(sid)
		writeJSONError(w, http.StatusBadRequest, errBadRequest)
		return
	}
	for _, p := range bytes.Split(body, []byte{0x1e}) {
		e.gate.inbound(sid, p)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	e.handler.ServeHTTP(w, r)
}

// validPayload reports whether body is an Engine.IO 4 payload of at least one
// well-formed packet.
func validPayload(body []byte) bool {
	packets, err := eioparser.Parserv4().DecodePayload(types.NewStringBuffer(body))
	return err == nil && len(packets) > 0
}

// closeSession drops an Engine.IO session at once (no close packet: the
// client is misbehaving).
func (e *Engine) closeSession(sid string) {
	if conn, ok := e.base.Clients().Load(sid); ok {
		conn.Close(true)
	}
}

// servePoll bounds a long-polling GET. The library can leave a GET that races
// its session's close unanswered forever, holding a goroutine and a socket;
// Node never does. Once the session is closed (or after the longest time a
// healthy session can go without a packet), the request's context is
// cancelled, which makes the library let go of it, and the client gets a
// close packet if nothing was written.
func (e *Engine) servePoll(w http.ResponseWriter, r *http.Request, sid string) {
	v, ok := e.sessions.Load(sid)
	if !ok {
		e.handler.ServeHTTP(w, r) // unknown session: the library answers 400
		return
	}
	ps := v.(*pollingSession)
	ps.polls.Add(1)
	defer ps.polls.Add(-1)
	session := ps.ctx
	limit := e.cfg.PingInterval + e.cfg.PingTimeout + pollCloseGrace
	ctx, cancel := context.WithTimeout(r.Context(), limit)
	defer cancel()
	var grace atomic.Pointer[time.Timer]
	stop := context.AfterFunc(session, func() {
		grace.Store(time.AfterFunc(pollCloseGrace, cancel))
	})
	defer func() {
		stop()
		if t := grace.Load(); t != nil {
			t.Stop()
		}
	}()
	rec := &responseRecorder{ResponseWriter: w}
	e.handler.ServeHTTP(rec, r.WithContext(ctx))
	if !rec.written.Load() {
		e.log.Debug("engine: answering a polling request the library left pending", "sid", sid)
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "1") // the Engine.IO close packet
	}
}

// responseRecorder notes whether a response was started.
type responseRecorder struct {
	http.ResponseWriter
	written atomic.Bool
}

func (r *responseRecorder) WriteHeader(code int) {
	r.written.Store(true)
	r.ResponseWriter.WriteHeader(code)
}

func (r *responseRecorder) Write(b []byte) (int, error) {
	r.written.Store(true)
	return r.ResponseWriter.Write(b)
}

func (r *responseRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func writeJSONError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
