package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
	"github.com/parley-chat/parley/socketio"
)

// changeit is the bcrypt hash of "changeit" that @socket.io/admin-ui's own
// tests use (made by bcryptjs, cost 10).
const changeit = "$2b$10$nu1FHRkuxkZkqID.31gz4uQsyERZAn.m4IIruysTsHDODBtrqS5Me"

// node is a Parley server with the test application and the admin UI.
type node struct {
	io    *socketio.Server
	admin *Admin
	url   string
}

// startNode serves the test application, instrumented with cfg (stats every
// 100 ms), at a local URL; everything stops with the test.
func startNode(t *testing.T, cfg Config) *node {
	t.Helper()
	return startNodeWith(t, cfg, socketio.Config{})
}

// startNodeWith is startNode with the server configured by scfg (an
// adapter, for a node of a cluster).
func startNodeWith(t *testing.T, cfg Config, scfg socketio.Config) *node {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	scfg.Logger = quiet
	io := socketio.New(scfg)
	testApp(io)
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	if cfg.statsInterval == 0 {
		cfg.statsInterval = 100 * time.Millisecond
	}
	a, err := Instrument(io, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The scripts' barrier: the admin namespace answers once it has
	// handled what the dashboard sent before.
	a.Namespace().OnConnection(func(s *socketio.Socket) {
		s.On("barrier", func(_ socketio.Args, ack socketio.Ack) { _ = ack.Send() })
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := io.Close(ctx); err != nil {
			t.Errorf("closing the server: %v", err)
		}
		ts.Close()
	})
	return &node{io: io, admin: a, url: ts.URL}
}

// testApp is the application the scripts' ordinary clients use: they join
// and leave rooms, set their data, ask for their rooms, and say hello.
func testApp(io *socketio.Server) {
	app := func(s *socketio.Socket) {
		s.On("join", func(args socketio.Args, ack socketio.Ack) {
			room, _ := args.String(0)
			s.Join(room)
			_ = ack.Send()
		})
		s.On("leave", func(args socketio.Args, ack socketio.Ack) {
			room, _ := args.String(0)
			s.Leave(room)
			_ = ack.Send()
		})
		s.On("set-data", func(args socketio.Args, ack socketio.Ack) {
			s.SetData(args.Value(0))
			_ = ack.Send()
		})
		s.On("rooms", func(_ socketio.Args, ack socketio.Ack) { _ = ack.Send(s.Rooms()) })
		s.On("hello", func(args socketio.Args, ack socketio.Ack) {
			_ = s.Emit("hello-back", args.Values()...)
			_ = ack.Send("123")
		})
	}
	io.OnConnection(app)
	io.OfFunc(func(name string, _ map[string]any) bool { return strings.HasPrefix(name, "/dynamic-") }).OnConnection(app)
}

// runScript runs a scenario of testdata/admin-client.mjs against n.
func runScript(t *testing.T, n *node, scenario string, arg any) {
	t.Helper()
	args := []string{n.url, scenario}
	if arg != nil {
		b, err := json.Marshal(arg)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, string(b))
	}
	out := nodetest.Run(t, time.Minute, "testdata/admin-client.mjs", args...)
	for _, name := range strings.Split(scenario, ",") {
		if !strings.Contains(out, "PASS "+name) {
			t.Fatalf("admin-client.mjs %s did not pass:\n%s", name, out)
		}
	}
}

func TestLogin(t *testing.T) {
	n := startNode(t, Config{Username: "admin", PasswordHash: changeit})
	runScript(t, n, "auth", nil)
}

func TestConfigFeatures(t *testing.T) {
	all := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS"}
	type server struct {
		URL  string   `json:"url"`
		Want []string `json:"want"`
	}
	var servers []server
	var first *node
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{Mode: Development}, append(all, "ALL_EVENTS")},
		{Config{}, all},
		{Config{Mode: Development, ReadOnly: true}, []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}},
		{Config{Mode: Production, ReadOnly: true}, []string{"AGGREGATED_EVENTS"}},
	} {
		tc.cfg.NoAuth = true
		n := startNode(t, tc.cfg)
		if first == nil {
			first = n
		}
		servers = append(servers, server{n.url, tc.want})
	}
	runScript(t, first, "config", servers)
}

func TestServerStats(t *testing.T) {
	n := startNode(t, Config{NoAuth: true, ServerID: "parley-1"})
	runScript(t, n, "stats", map[string]any{"serverId": "parley-1", "pid": os.Getpid()})
}

// TestDevelopmentMode runs, on one server in development mode, the
// scenarios of all_sockets; socket_connected, room_joined, room_left,
// socket_updated (data and transport) and socket_disconnected;
// event_received and event_sent; the commands by socket id and by room;
// and a dynamic namespace's sockets.
func TestDevelopmentMode(t *testing.T) {
	runScript(t, startNode(t, Config{NoAuth: true, Mode: Development}), "sockets,events,traffic,commands,dynamic", nil)
}

func TestReadOnlyRefusesCommands(t *testing.T) {
	runScript(t, startNode(t, Config{NoAuth: true, Mode: Development, ReadOnly: true}), "readonly", nil)
}
