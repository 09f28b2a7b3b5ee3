package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
	// The CONNECT answer goes out before the handlers run.
	want := "any:/ app:/ any:/custom app:/custom any:/dyn-1 app:/dyn-1"
	waitFor(t, "the handlers of /dyn-1", func() bool { return strings.Count(r.String(), "dyn-1") == 2 })
	if got := r.String(); got != want {
		t.Fatalf("hooks ran as %q, want %q", got, want)
	}
}

// roomServer is the protocol suite's server plus a namespace /rooms whose
// clients join and leave rooms with the events "join" and "leave" (acked
// once done).
func roomServer(t *testing.T) (*Server, string) {
	io, url := suiteServer(t, Config{})
	io.Of("/rooms").OnConnection(func(s *Socket) {
		s.On("join", func(args Args, ack Ack) {
			room, _ := args.String(0)
			s.Join(room)
			_ = ack.Send()
		})
		s.On("leave", func(args Args, ack Ack) {
			room, _ := args.String(0)
			s.Leave(room)
			_ = ack.Send()
		})
	})
	return io, url
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRoomHooks(t *testing.T) {
	io, url := roomServer(t)
	var r record
	var sid atomic.Value
	sid.Store("")
	name := func(id string) string {
		if id == sid.Load().(string) {
			return "SID"
		}
		return id
	}
	io.OnRoomJoined(func(nsp *Namespace, room, id string) { r.add("+" + nsp.Name() + ":" + name(room) + ":" + name(id)) })
	io.OnRoomLeft(func(nsp *Namespace, room, id string) { r.add("-" + nsp.Name() + ":" + name(room) + ":" + name(id)) })
	io.Of("/rooms").Use(func(s *Socket) error { sid.Store(s.ID()); return nil })

	c := connect(t, url, "40/rooms,")
	c.expectPrefix("40/rooms,{")
	for _, step := range []string{`["join","r1"]`, `["join","r1"]`, `["join","r2"]`, `["leave","r1"]`, `["leave","r1"]`} {
		c.send("42/rooms,7" + step)
		c.expect("43/rooms,7[]")
	}
	if err := io.Of("/rooms").SocketsJoin("r3"); err != nil {
		t.Fatal(err)
	}
	c.send("41/rooms,")
	want := "+/rooms:SID:SID +/rooms:r1:SID +/rooms:r2:SID -/rooms:r1:SID +/rooms:r3:SID -/rooms:SID:SID -/rooms:r2:SID -/rooms:r3:SID"
	waitFor(t, "the rooms left on disconnect", func() bool { return r.String() == want })
}

func TestRoomHooksSkipRefusedSockets(t *testing.T) {
	io, url := roomServer(t)
	var r record
	io.OnRoomJoined(func(_ *Namespace, room, _ string) { r.add("+" + room) })
	io.OnRoomLeft(func(_ *Namespace, room, _ string) { r.add("-" + room) })
	io.Of("/rooms").Use(func(s *Socket) error {
		s.Join("lobby")
		return errors.New("no")
	})
	c := connect(t, url, "40/rooms,")
	c.expect(`44/rooms,{"message":"no"}`)
	waitFor(t, "the refusal", func() bool { return strings.Contains(r.String(), "-") })
	// Joined in a middleware, left when refused; never in its own room.
	if got, want := r.String(), "+lobby -lobby"; got != want {
		t.Fatalf("hooks saw %q, want %q", got, want)
	}
}

// httpGet returns the body of a GET.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestOnUpgrade(t *testing.T) {
	srv, wsURL := suiteServer(t, Config{})
	upgraded := make(chan string, 2)
	srv.OnUpgrade(func(s *Socket) { upgraded <- s.Namespace().Name() + ":" + s.Conn().Transport() })
	base := "http" + strings.TrimPrefix(strings.TrimSuffix(wsURL, "websocket"), "ws") + "polling"
	open := httpGet(t, base)
	var hs struct{ SID string }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(open, "0")), &hs); err != nil {
		t.Fatalf("handshake %q: %v", open, err)
	}
	poll := base + "&sid=" + hs.SID
	resp, err := http.Post(poll, "text/plain", strings.NewReader("40\x1e40/custom,"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for got := ""; strings.Count(got, "40") < 2; {
		got += httpGet(t, poll)
	}
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(wsURL, "EIO=4", "EIO=4&sid="+hs.SID, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "3probe" {
		t.Fatalf("probe answer %q %v", msg, err)
	}
	if len(upgraded) != 0 {
		t.Fatal("told of the upgrade before it completed")
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("5"))
	var got []string
	for range 2 {
		select {
		case u := <-upgraded:
			got = append(got, u)
		case <-time.After(5 * time.Second):
			t.Fatalf("upgrades seen: %q, want both sockets", got)
		}
	}
	slices.Sort(got)
	if want := []string{"/:websocket", "/custom:websocket"}; !slices.Equal(got, want) {
		t.Fatalf("upgrades seen: %q, want %q", got, want)
	}
}

func TestOnSetData(t *testing.T) {
	srv, url := suiteServer(t, Config{})
	var r record
	srv.OnSetData(func(s *Socket) { r.add(fmt.Sprint(s.Data())) })
	srv.Of("/custom").Use(func(s *Socket) error { s.SetData("from a middleware"); return nil })
	srv.Of("/custom").OnConnection(func(s *Socket) { s.SetData(42) })
	c := connect(t, url, "40/custom,")
	c.expectPrefix("40/custom,{")
	waitFor(t, "the second SetData", func() bool { return strings.Contains(r.String(), "42") })
	if got, want := r.String(), "from a middleware 42"; got != want {
		t.Fatalf("hooks saw %q, want %q", got, want)
	}
}

func TestClusterData(t *testing.T) {
	srv, url := suiteServer(t, Config{})
	srv.Of("/custom").OnConnection(func(s *Socket) { s.SetData("app") })
	c := connect(t, url, "40/custom,")
	c.expectPrefix("40/custom,{")
	waitFor(t, "the data", func() bool {
		ss := srv.Of("/custom").LocalSockets()
		return len(ss) == 1 && ss[0].Data() == "app"
	})
	fetch := func() *RemoteSocket {
		t.Helper()
		sockets, err := srv.Of("/custom").FetchSockets(context.Background())
		if err != nil || len(sockets) != 1 {
			t.Fatalf("FetchSockets: %v %v", sockets, err)
		}
		return sockets[0]
	}
	if got := fetch().ClusterData(); got != "app" {
		t.Fatalf("ClusterData without hooks: %v", got)
	}
	srv.OnClusterData(func(s *Socket, data any) any { return fmt.Sprint(data, "+", s.Namespace().Name()) })
	srv.OnClusterData(func(_ *Socket, data any) any { return fmt.Sprint(data, "+2") })
	r := fetch()
	if got := r.ClusterData(); got != "app+/custom+2" || r.Data != "app" {
		t.Fatalf("ClusterData %v, Data %v", got, r.Data)
	}
	remote := NewRemoteSocket(srv.Of("/custom"), "other", Handshake{}, nil, "theirs")
	if got := remote.ClusterData(); got != "theirs" {
		t.Fatalf("ClusterData of another node's socket: %v", got)
	}
}
