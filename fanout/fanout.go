// Package fanout delivers Socket.IO broadcasts to the sockets of this node:
// the packet is encoded and framed once, and the same bytes are written to
// every local recipient on Parley's WebSocket transport (package
// wstransport). Recipients on another transport (long-polling, or a
// WebSocket still upgrading) get the packet through the engine, as the
// library's adapter would send it. Large rooms are split across cores.
//
// # Contract for adapters
//
// Deliver is the local half of an adapter's Broadcast. The single-node
// adapter of this package (Builder) calls it for every broadcast; a cluster
// adapter calls it for its local delivery, both for broadcasts made on this
// node (after publishing them, or before: Deliver never touches the
// network) and for broadcasts arriving from other nodes (after decoding the
// packet and options). Rules:
//
//   - Pass the adapter of the packet's namespace, the outermost one (the
//     adapter itself, not the embedded base). Deliver reads its Rooms, Sids
//     and Nsp; the rooms must be this node's.
//   - Deliver sets p.Nsp to the namespace's name and otherwise leaves p and
//     opts unchanged. Do not modify them during the call.
//   - opts may be nil (every socket of the namespace). Rooms selects
//     sockets in any of the rooms, Except removes sockets in any of those
//     rooms, Flags.Volatile drops the packet for recipients with a write
//     backlog, Flags.Compress is ignored (no permessage-deflate).
//     Flags.Local and the other cluster flags are the adapter's business.
//   - Packets with an ack id (BroadcastWithAck) must keep going through the
//     library's adapter, which registers the ack per socket.
//   - Deliver returns when every local recipient has been written to or has
//     the bytes queued; it never waits for a slow client. It is safe for
//     concurrent use; per recipient, packets keep the order of the Deliver
//     calls that returned one after the other.
package fanout

import (
	"runtime"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/wstransport"
)

// Config configures a Fanout. The zero value works.
type Config struct {
	// SplitAt is the number of local recipients from which a broadcast is
	// written by several goroutines. default: 512
	SplitAt int
	// Workers is how many goroutines write a large broadcast.
	// default: GOMAXPROCS
	Workers int
}

// Fanout delivers broadcasts to local sockets. It is a prometheus.Collector
// for its counters.
type Fanout struct {
	splitAt, workers int

	broadcasts prometheus.Counter
	direct     prometheus.Counter
	viaEngine  prometheus.Counter
	bytes      prometheus.Counter
}

// New returns a Fanout.
func New(cfg Config) *Fanout {
	if cfg.SplitAt <= 0 {
		cfg.SplitAt = 512
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_fanout_deliveries_total",
		Help: "Broadcast packets handed to local recipients, by path: direct (pre-framed WebSocket write) or engine.",
	}, []string{"path"})
	return &Fanout{
		splitAt: cfg.SplitAt,
		workers: cfg.Workers,
		broadcasts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_fanout_broadcasts_total",
			Help: "Broadcasts delivered to this node's sockets.",
		}),
		direct:    deliveries.WithLabelValues("direct"),
		viaEngine: deliveries.WithLabelValues("engine"),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_fanout_bytes_total",
			Help: "Bytes of pre-framed broadcast messages handed to WebSocket connections.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (f *Fanout) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range f.collectors() {
		ch <- c.Desc()
	}
}

// Collect implements prometheus.Collector.
func (f *Fanout) Collect(ch chan<- prometheus.Metric) {
	for _, c := range f.collectors() {
		ch <- c
	}
}

func (f *Fanout) collectors() []prometheus.Counter {
	return []prometheus.Counter{f.broadcasts, f.direct, f.viaEngine, f.bytes}
}

// delivery is one broadcast on its way to the recipients.
type delivery struct {
	packet   *parser.Packet
	encoded  []types.BufferInterface
	message  *wstransport.Message
	volatile bool
	engine   *socket.WriteOptions
}

// Deliver writes a broadcast to the local sockets of a's namespace; see the
// package documentation for the contract.
func (f *Fanout) Deliver(a socket.Adapter, p *parser.Packet, opts *socket.BroadcastOptions) {
	nsp := a.Nsp()
	p.Nsp = nsp.Name()
	recipients := collect(a, opts)
	defer release(recipients)
	sockets := *recipients
	if len(sockets) == 0 {
		return
	}
	d := &delivery{packet: p, engine: &socket.WriteOptions{PreEncoded: true}}
	if opts != nil && opts.Flags != nil {
		d.volatile = opts.Flags.Volatile
		d.engine.Volatile = opts.Flags.Volatile
		d.engine.Compress = opts.Flags.Compress
	}
	d.encoded = nsp.Server().Encoder().Encode(p)
	d.message = wstransport.NewMessage(d.encoded)
	f.broadcasts.Inc()
	if len(sockets) < f.splitAt || f.workers < 2 {
		f.count(d, d.write(sockets), len(sockets))
		return
	}
	f.split(d, sockets)
}

// split writes a large broadcast from several goroutines, one slice of the
// recipients each, and waits for all of them.
func (f *Fanout) split(d *delivery, sockets []*socket.Socket) {
	chunk := (len(sockets) + f.workers - 1) / f.workers
	var wg sync.WaitGroup
	results := make([]int, f.workers)
	for i := 1; i*chunk < len(sockets); i++ {
		part := sockets[i*chunk : min((i+1)*chunk, len(sockets))]
		wg.Go(func() { results[i] = d.write(part) })
	}
	results[0] = d.write(sockets[:chunk])
	wg.Wait()
	direct := 0
	for _, n := range results {
		direct += n
	}
	f.count(d, direct, len(sockets))
}

// count adds a broadcast's deliveries: one counter update per broadcast, not
// per recipient.
func (f *Fanout) count(d *delivery, direct, total int) {
	f.direct.Add(float64(direct))
	if total > direct {
		f.viaEngine.Add(float64(total - direct))
	}
	f.bytes.Add(float64(direct * d.message.Len()))
}

// write delivers to sockets and returns how many took the pre-framed path.
func (d *delivery) write(sockets []*socket.Socket) int {
	direct := 0
	for _, s := range sockets {
		if notify := s.NotifyOutgoingListeners(); notify != nil {
			notify(d.packet)
		}
		client := s.Client()
		if t, ok := client.Conn().Transport().(*wstransport.Transport); ok && t.WriteMessage(d.message, d.volatile) {
			direct++
			continue
		}
		client.WriteToEngine(d.encoded, d.engine)
	}
	return direct
}
