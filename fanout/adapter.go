package fanout

import (
	"sync"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// Builder builds the single-node adapter Parley uses when no cluster
// adapter is configured: the library's in-memory adapter whose Broadcast is
// Fanout.Deliver. Everything else (rooms, acks, fetchSockets) stays the
// library's. Set it with the server option SetAdapter before the server is
// created.
type Builder struct {
	// Fanout delivers the broadcasts. default: New(Config{})
	Fanout *Fanout

	once sync.Once
}

var _ socket.AdapterConstructor = (*Builder)(nil)

// New returns the adapter of one namespace. The library calls it.
func (b *Builder) New(nsp socket.Namespace) socket.Adapter {
	b.once.Do(func() {
		if b.Fanout == nil {
			b.Fanout = New(Config{})
		}
	})
	a := &adapter{Adapter: socket.MakeAdapter(), fanout: b.Fanout}
	a.Prototype(a)
	a.Construct(nsp)
	return a
}

// adapter is the in-memory adapter with fan-out delivery.
type adapter struct {
	socket.Adapter
	fanout *Fanout
}

// Broadcast delivers p to the local sockets opts selects.
func (a *adapter) Broadcast(p *parser.Packet, opts *socket.BroadcastOptions) {
	a.fanout.Deliver(a, p, opts)
}
