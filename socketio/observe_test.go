package socketio

import (
	"strings"
	"sync"
	"testing"
)

// record collects what hooks saw, in order.
type record struct {
	mu    sync.Mutex
	lines []string
}

func (r *record) add(line string) {
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
}

func (r *record) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, " ")
}

func TestOnAnyConnectionRunsFirstInEveryNamespace(t *testing.T) {
	io, url := suiteServer(t, Config{})
	var r record
	// Registered after the namespaces' own handlers, still called first.
	io.OnAnyConnection(func(s *Socket) { r.add("any:" + s.Namespace().Name()) })
	for _, name := range []string{"/", "/custom"} {
		io.Of(name).OnConnection(func(s *Socket) { r.add("app:" + s.Namespace().Name()) })
	}
	io.OfFunc(func(name string, _ map[string]any) bool { return strings.HasPrefix(name, "/dyn-") }).
		OnConnection(func(s *Socket) { r.add("app:" + s.Namespace().Name()) })

	c := connect(t, url, "40")
	c.expectPrefix("40{")
	c.expect(`42["auth",{}]`)
	c.send("40/custom,")
	c.expectPrefix("40/custom,{")
	c.expect(`42/custom,["auth",{}]`)
	c.send("40/dyn-1,")
	c.expectPrefix("40/dyn-1,{")
	// The CONNECT answer goes out before the handlers run; the answer to
	// a later packet, after.
	c.send(`42/custom,["message",1]`)
	c.expect(`42/custom,["message-back",1]`)
	if got, want := r.String(), "any:/ app:/ any:/custom app:/custom any:/dyn-1 app:/dyn-1"; got != want {
		t.Fatalf("hooks ran as %q, want %q", got, want)
	}
}
