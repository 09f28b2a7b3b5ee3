package engine

import (
	"testing"
	"time"
)

func TestSocketIOHeader(t *testing.T) {
	for _, tt := range []struct {
		in   string
		kind byte
		nsp  string
		ok   bool
	}{
		{`40`, '0', "/", true},
		{`40{"token":"x"}`, '0', "/", true},
		{`40/admin,{"token":"x"}`, '0', "/admin", true},
		{`42["ev"]`, '2', "/", true},
		{`4212["ev"]`, '2', "/", true},
		{`42/chat,7["ev"]`, '2', "/chat", true},
		{`451-["ev",{"_placeholder":true,"num":0}]`, '5', "/", true},
		{`451-/chat,["ev",{"_placeholder":true,"num":0}]`, '5', "/chat", true},
		{`41/x`, '1', "/x", true},
		{`2`, 0, "", false},
		{`4`, 0, "", false},
		{`bAQID`, 0, "", false},
		{``, 0, "", false},
	} {
		kind, nsp, ok := socketIOHeader([]byte(tt.in))
		if kind != tt.kind || nsp != tt.nsp || ok != tt.ok {
			t.Errorf("socketIOHeader(%q) = %q, %q, %v; want %q, %q, %v", tt.in, kind, nsp, ok, tt.kind, tt.nsp, tt.ok)
		}
	}
}

func TestConnectGate(t *testing.T) {
	g := newConnectGate()
	// Nothing pending: packets pass at once.
	g.inbound("s1", []byte(`42["ev"]`))

	g.inbound("s1", []byte(`40`))
	passed := make(chan struct{})
	go func() {
		g.inbound("s1", []byte(`42["ev"]`))
		close(passed)
	}()
	// Another namespace and another session are not held.
	g.inbound("s1", []byte(`42/other,["ev"]`))
	g.inbound("s2", []byte(`42["ev"]`))
	select {
	case <-passed:
		t.Fatal("an event passed before its namespace socket was registered")
	case <-time.After(50 * time.Millisecond):
	}
	g.connected("s1", "/")
	select {
	case <-passed:
	case <-time.After(time.Second):
		t.Fatal("the event was still held after the namespace socket was registered")
	}

	// A session that closes releases what waits, and forgets its state.
	g.inbound("s3", []byte(`40/admin,`))
	released := make(chan struct{})
	go func() {
		g.inbound("s3", []byte(`42/admin,["ev"]`))
		close(released)
	}()
	time.Sleep(20 * time.Millisecond)
	g.forget("s3")
	select {
	case <-released:
	case <-time.After(time.Second):
		t.Fatal("closing the session did not release its held packet")
	}
	if len(g.pending) != 0 || g.waiting.Load() != 0 {
		t.Fatalf("state left behind: %v, %d waiting", g.pending, g.waiting.Load())
	}
}
