package engine

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// serveUpgrade hands a WebSocket upgrade request to the library without
// what net/http would otherwise keep alive for the whole session. The engine
// keeps the upgrade's request context (and through it the ResponseWriter)
// as long as the connection lives; with net/http's own values that pins the
// server connection with its 4 KB read and 4 KB write buffers, and the
// request context registers a cancellation callback. So the library gets
// a ResponseWriter that lets go of net/http's after the hijack, and a
// request whose context is Background (the upgrade never waits on it).
func (e *Engine) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	e.handler.ServeHTTP(&releasingWriter{w: w}, r.WithContext(context.Background()))
}

// isWebSocketUpgrade reports whether r asks for a WebSocket upgrade: the
// requests the library hijacks, which it tells with this same gorilla test.
func isWebSocketUpgrade(r *http.Request) bool { return websocket.IsWebSocketUpgrade(r) }

// releasingWriter forwards to net/http's ResponseWriter until Hijack, then
// drops it: from then on the connection belongs to the transport.
type releasingWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter // nil once hijacked
}

func (rw *releasingWriter) writer() http.ResponseWriter {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.w
}

func (rw *releasingWriter) Header() http.Header {
	if w := rw.writer(); w != nil {
		return w.Header()
	}
	return http.Header{}
}

func (rw *releasingWriter) Write(b []byte) (int, error) {
	if w := rw.writer(); w != nil {
		return w.Write(b)
	}
	return 0, http.ErrHijacked
}

func (rw *releasingWriter) WriteHeader(code int) {
	if w := rw.writer(); w != nil {
		w.WriteHeader(code)
	}
}

// Hijack takes the connection over and forgets net/http's response.
func (rw *releasingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.w == nil {
		return nil, nil, http.ErrHijacked
	}
	conn, brw, err := http.NewResponseController(rw.w).Hijack()
	if err == nil {
		rw.w = nil
	}
	return conn, brw, err
}
