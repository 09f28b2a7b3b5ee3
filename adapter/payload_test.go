package adapter_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/adapter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/socketio"
)

// TestUnencodableRefused: a broadcast or a server-side emit whose arguments
// the cluster cannot carry reaches nobody, not even the sender's own
// clients; the caller of the emit gets an error wrapping
// adapter.ErrUnencodable, and the refusal is logged with the namespace and
// the event and counted by kind; so is a broadcast with more binary
// attachments than socket.io clients accept. A value nested just deep enough to pass the payload check and
// fail in the encoder's envelope takes the same path.
// TestAttachmentBoundsAgree: the emitter, which does not import the core,
// refuses binary attachments beyond wire's bound, nodes beyond socketio's.
func TestAttachmentBoundsAgree(t *testing.T) {
	if wire.MaxClientAttachments != socketio.MaxClientAttachments {
		t.Fatalf("wire.MaxClientAttachments = %d, socketio.MaxClientAttachments = %d", wire.MaxClientAttachments, socketio.MaxClientAttachments)
	}
}

func TestUnencodableRefused(t *testing.T) {
	r := redistest.Start(t)
	logs := &lockedBuffer{}
	a := ct.StartGoNode(t, "A", r.Client(t), ct.GoNodeOptions{Config: adapter.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))}})
	b := ct.StartGoNode(t, "B", r.Client(t), ct.GoNodeOptions{})
	ct.WaitReady(t, a, b)
	clients := []*ct.Client{ct.Dial(t, a.URL(), "/", "on-a"), ct.Dial(t, b.URL(), "/", "on-b")}
	ct.Eventually(t, "two nodes", func() error {
		if n := a.ServerCount(t, "/"); n != 2 {
			return fmt.Errorf("server count %d", n)
		}
		return nil
	})
	deep := any("leaf")
	for range 999 {
		deep = []any{deep}
	}
	eleven := make([]any, socketio.MaxClientAttachments+1)
	for i := range eleven {
		eleven[i] = []byte{byte(i)}
	}
	nsp := a.Adapter("/")
	for name, arg := range map[string]any{
		"more attachments than clients accept": map[string]any{"parts": eleven},
		"channel":                              make(chan int),
		"function":                             func() {},
		"struct without fields":                struct{ n int }{1},
		"too deep for an envelope":             deep,
	} {
		err := nsp.Broadcast(&socketio.Packet{Type: socketio.PacketEvent, ID: -1, Data: []any{"bad", arg}}, socketio.BroadcastOptions{})
		if !errors.Is(err, adapter.ErrUnencodable) || !strings.Contains(err.Error(), `"bad"`) {
			t.Errorf("%s: Broadcast err = %v, want ErrUnencodable naming the event", name, err)
		}
	}
	// Through the operators: the emit returns the error.
	if err := a.IO.Emit("bad", make(chan int)); !errors.Is(err, adapter.ErrUnencodable) {
		t.Errorf("Emit err = %v", err)
	}
	err := a.IO.Timeout(200*time.Millisecond).EmitWithAck("bad", func([]socketio.Args, error) {
		t.Error("the acks of a refused broadcast were reported")
	}, make(chan int))
	if !errors.Is(err, adapter.ErrUnencodable) {
		t.Errorf("EmitWithAck err = %v", err)
	}
	if err := a.IO.Sockets().ServerSideEmit("bad", make(chan int)); !errors.Is(err, adapter.ErrUnencodable) {
		t.Errorf("ServerSideEmit err = %v", err)
	}
	err = a.IO.Sockets().ServerSideEmitWithAck("bad", func([]socketio.Args, error) {
		t.Error("the ack of a refused server-side emit was called")
	}, func() {})
	if !errors.Is(err, adapter.ErrUnencodable) {
		t.Errorf("ServerSideEmitWithAck err = %v", err)
	}

	a.Emit(t, "/", ct.Target{}, "mark", "after")
	for _, c := range clients {
		c.Wait(t, "mark", ct.WithArg("after"))
		if got := c.Received("bad"); len(got) > 0 {
			t.Errorf("%s got a refused broadcast: %v", c.Name, got)
		}
	}
	if got := len(b.ServerSideEvents(t, "/")); got != 0 {
		t.Errorf("B got %d refused server-side events", got)
	}
	for kind, want := range map[string]float64{"broadcast": 7, "server_side_emit": 2} {
		if got := labelled(t, a.Registry, "parley_adapter_encode_errors_total", "kind", kind); got != want {
			t.Errorf("encode errors of kind %s: %v, want %v", kind, got, want)
		}
	}
	if text := logs.String(); !strings.Contains(text, "adapter: refused") || !strings.Contains(text, "event=bad") || !strings.Contains(text, "nsp=/") {
		t.Errorf("no refusal logged with the namespace and event:\n%s", text)
	}
}

// labelled returns the value of the counter name with label=value.
func labelled(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// lockedBuffer is a log destination written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
