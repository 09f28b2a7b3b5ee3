package socketio

import (
	"context"
	"slices"
	"sync"
	"time"
)

// BroadcastOperator selects sockets of a namespace, on every node, and acts
// on them: Node's BroadcastOperator. It is a value: each modifier returns a
// new operator, so one can be kept and reused from any goroutine.
//
//	io.To("room1").Except("room2").Emit("hello", "world")
//	io.Timeout(5*time.Second).EmitWithAck("question", onAnswers, 42)
type BroadcastOperator struct {
	nsp    *Namespace
	rooms  []string
	except []string
	flags  BroadcastFlags
}

// To adds rooms: sockets in any of them are selected (every socket when
// none is given).
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = appendNew(b.rooms, rooms)
	return b
}

// In is To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except leaves out the sockets of rooms.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = appendNew(b.except, rooms)
	return b
}

// appendNew returns a new slice of a's and b's distinct elements: operators
// share nothing they could change.
func appendNew(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, s := range slices.Concat(a, b) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Local keeps the operation on this node.
func (b BroadcastOperator) Local() BroadcastOperator { b.flags.Local = true; return b }

// Volatile drops the event for clients that cannot take it at once.
func (b BroadcastOperator) Volatile() BroadcastOperator { b.flags.Volatile = true; return b }

// Compress sets the compress flag (carried to other nodes; Parley does not
// compress WebSocket messages).
func (b BroadcastOperator) Compress(c bool) BroadcastOperator { b.flags.Compress = &c; return b }

// Timeout bounds EmitWithAck (and FetchSockets across nodes).
func (b BroadcastOperator) Timeout(d time.Duration) BroadcastOperator {
	b.flags.Timeout = &d
	return b
}

func (b BroadcastOperator) options() BroadcastOptions {
	return BroadcastOptions{Rooms: b.rooms, Except: b.except, Flags: b.flags}
}

// Emit sends an event to the selected sockets. It returns an error when an
// argument cannot be encoded or the cluster cannot take the broadcast;
// nothing is sent then.
func (b BroadcastOperator) Emit(ev string, args ...any) error {
	if reservedEvents[ev] {
		return ErrReservedEvent
	}
	p := &Packet{Type: PacketEvent, Nsp: b.nsp.name, ID: noID, Data: append([]any{ev}, args...)}
	return b.nsp.adapter.Broadcast(p, b.options())
}

// EmitWithAck sends an event whose clients answer, and calls onAcks once:
// with every answer when all the selected clients of every node answered,
// or with ErrTimeout and the answers so far when the Timeout passed first.
// Set a Timeout: without one the operation times out at once, as in Node.
// It does not wait.
func (b BroadcastOperator) EmitWithAck(ev string, onAcks func(responses []Args, err error), args ...any) error {
	if reservedEvents[ev] {
		return ErrReservedEvent
	}
	timeout := time.Duration(0)
	if b.flags.Timeout != nil {
		timeout = *b.flags.Timeout
	} else {
		b.flags.Timeout = &timeout
	}
	c := &ackCollector{onAcks: onAcks, expectedServers: -1}
	p := &Packet{Type: PacketEvent, Nsp: b.nsp.name, ID: noID, Data: append([]any{ev}, args...)}
	if err := b.nsp.adapter.BroadcastWithAck(p, b.options(), c.count, c.add); err != nil {
		return err
	}
	time.AfterFunc(timeout, c.timeout)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
		defer cancel()
		n, err := b.nsp.adapter.ServerCount(ctx)
		if err != nil {
			n = 1
		}
		c.servers(n)
	}()
	return nil
}

// ackCollector gathers the answers of a broadcast with acks: complete when
// every node reported its client count and that many answers came.
type ackCollector struct {
	mu              sync.Mutex
	onAcks          func([]Args, error)
	responses       []Args
	expectedServers int
	reported        int
	clients         int
	done            bool
}

func (c *ackCollector) count(clients int) {
	c.mu.Lock()
	c.reported++
	c.clients += clients
	c.check()
}

func (c *ackCollector) add(a Args) {
	c.mu.Lock()
	c.responses = append(c.responses, a)
	c.check()
}

func (c *ackCollector) servers(n int) {
	c.mu.Lock()
	c.expectedServers = n
	c.check()
}

// check completes the collection when it can; called under mu, which it
// releases.
func (c *ackCollector) check() {
	if c.done || c.expectedServers != c.reported || len(c.responses) != c.clients {
		c.mu.Unlock()
		return
	}
	c.done = true
	responses := c.responses
	c.mu.Unlock()
	c.onAcks(responses, nil)
}

func (c *ackCollector) timeout() {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	c.done = true
	responses := c.responses
	c.mu.Unlock()
	c.onAcks(responses, ErrTimeout)
}

// FetchSockets returns the selected sockets of every node.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return b.nsp.adapter.FetchSockets(ctx, b.options())
}

// SocketsJoin makes the selected sockets of every node join rooms.
func (b BroadcastOperator) SocketsJoin(rooms ...string) error {
	return b.nsp.adapter.AddSockets(b.options(), rooms)
}

// SocketsLeave makes the selected sockets of every node leave rooms.
func (b BroadcastOperator) SocketsLeave(rooms ...string) error {
	return b.nsp.adapter.DelSockets(b.options(), rooms)
}

// DisconnectSockets disconnects the selected sockets of every node, and
// with close their whole connections.
func (b BroadcastOperator) DisconnectSockets(close bool) error {
	return b.nsp.adapter.DisconnectSockets(b.options(), close)
}
