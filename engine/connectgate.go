package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

// gateTimeout bounds how long a packet waits for its namespace's CONNECT to
// complete; a CONNECT that fails (a middleware refused it) never completes.
const gateTimeout = 3 * time.Second

// connectGate closes a race in the library. It writes a namespace's CONNECT
// answer before it registers the namespace socket that incoming packets are
// routed to, and the client's next packets are read on another goroutine:
// one that arrives in between (socket.io clients send their buffered emits
// as soon as the answer arrives) finds no socket, and the library
// disconnects the client for "invalid state". Node, single-threaded, has no
// such gap. The gate holds a session's incoming packets for a namespace
// whose CONNECT is in progress until the namespace socket is registered (the
// namespace's "connection" event), for at most gateTimeout.
type connectGate struct {
	// waiting counts the CONNECTs in progress: while it is zero, which is
	// nearly always, packets pass without taking mu.
	waiting atomic.Int64

	mu sync.Mutex
	// pending[sid][nsp] is closed once the namespace socket is registered.
	pending map[string]map[string]chan struct{}
}

func newConnectGate() *connectGate {
	return &connectGate{pending: make(map[string]map[string]chan struct{})}
}

// watch makes every namespace of io, present and future, open the gate of
// its sockets as they are registered.
func (g *connectGate) watch(io *socket.Server) {
	main := io.Sockets()
	_ = main.On("connection", g.onConnection)
	_ = main.On("new_namespace", func(args ...any) {
		if nsp, ok := args[0].(socket.Namespace); ok {
			_ = nsp.On("connection", g.onConnection)
		}
	})
}

func (g *connectGate) onConnection(args ...any) {
	if s, ok := args[0].(*socket.Socket); ok {
		g.connected(s.Conn().Id(), s.Nsp().Name())
	}
}

// inbound inspects one incoming Engine.IO packet of session sid before the
// engine sees it: a CONNECT closes the namespace's gate, any other packet
// for a namespace whose gate is closed waits until it opens.
func (g *connectGate) inbound(sid string, packet []byte) {
	kind, nsp, ok := socketIOHeader(packet)
	if !ok {
		return
	}
	if kind == '0' {
		g.connecting(sid, nsp)
		return
	}
	if g.waiting.Load() > 0 {
		g.wait(sid, nsp)
	}
}

func (g *connectGate) connecting(sid, nsp string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	byNsp := g.pending[sid]
	if byNsp == nil {
		byNsp = make(map[string]chan struct{}, 1)
		g.pending[sid] = byNsp
	}
	if old, again := byNsp[nsp]; again {
		close(old) // a CONNECT repeated: what waited on the first goes on
	} else {
		g.waiting.Add(1)
	}
	byNsp[nsp] = make(chan struct{})
}

func (g *connectGate) connected(sid, nsp string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	byNsp := g.pending[sid]
	if ch, ok := byNsp[nsp]; ok {
		close(ch)
		g.waiting.Add(-1)
		if delete(byNsp, nsp); len(byNsp) == 0 {
			delete(g.pending, sid) // an idle session keeps nothing here
		}
	}
}

func (g *connectGate) wait(sid, nsp string) {
	g.mu.Lock()
	ch := g.pending[sid][nsp]
	g.mu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(gateTimeout)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// forget drops a closed session's state.
func (g *connectGate) forget(sid string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, ch := range g.pending[sid] {
		close(ch)
		g.waiting.Add(-1)
	}
	delete(g.pending, sid)
}

// socketIOHeader reads the Socket.IO packet type and namespace of an
// Engine.IO message packet ("4" + Socket.IO packet); ok is false for other
// Engine.IO packets.
func socketIOHeader(p []byte) (kind byte, nsp string, ok bool) {
	if len(p) < 2 || p[0] != '4' {
		return 0, "", false
	}
	kind, rest := p[1], p[2:]
	if kind == '5' || kind == '6' { // binary event or ack: "<n>-" attachments
		for len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
			rest = rest[1:]
		}
		if len(rest) > 0 && rest[0] == '-' {
			rest = rest[1:]
		}
	}
	if len(rest) > 0 && rest[0] == '/' {
		for i, c := range rest {
			if c == ',' {
				return kind, string(rest[:i]), true
			}
		}
		return kind, string(rest), true
	}
	return kind, "/", true
}
