package admin

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/engineio"
	"github.com/parley-chat/parley/socketio"
)

func TestConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "a username and a bcrypt password hash are required, or NoAuth set explicitly"},
		{Config{Username: "admin"}, "a username and a bcrypt password hash are required"},
		{Config{PasswordHash: changeit}, "a username and a bcrypt password hash are required"},
		{Config{NoAuth: true, Username: "admin", PasswordHash: changeit}, "NoAuth is set along with credentials"},
		{Config{Username: "admin", PasswordHash: "changeit"}, "not a valid bcrypt hash"},
		{Config{NoAuth: true, Mode: "staging"}, `mode "staging" is neither`},
	} {
		io := socketio.New(socketio.Config{Logger: slog.New(slog.DiscardHandler)})
		a, err := Instrument(io, tc.cfg)
		if err == nil {
			_ = a.Close()
			t.Errorf("Instrument(%+v) succeeded, want an error", tc.cfg)
		} else if !strings.HasPrefix(err.Error(), "admin: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Instrument(%+v): %q, want %q", tc.cfg, err, tc.want)
		}
		_ = io.Close(context.Background())
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{NoAuth: true, Namespace: "custom"}.checked(slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != "/custom" || c.Mode != Production || c.ServerID != hostname() || c.Sessions == nil ||
		c.statsInterval != 2*time.Second || c.Logger != slog.Default() {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestMemoryStoreExpires(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(50 * time.Millisecond)
	if ok, _ := s.Exists(ctx, "a"); ok {
		t.Fatal("an unknown session exists")
	}
	_ = s.Save(ctx, "a")
	if ok, _ := s.Exists(ctx, "a"); !ok {
		t.Fatal("a saved session does not exist")
	}
	time.Sleep(60 * time.Millisecond)
	if ok, _ := s.Exists(ctx, "a"); ok {
		t.Fatal("an expired session exists")
	}
	_ = s.Save(ctx, "b")
	if n := len(s.(*memoryStore).expires); n != 1 {
		t.Fatalf("%d sessions kept after one expired, want 1", n)
	}
}

func TestSplitData(t *testing.T) {
	shown, meta := splitData(map[string]any{"name": "alice", "_admin": map[string]any{"clientId": "abc", "transport": "polling"}})
	if m := shown.(map[string]any); len(m) != 1 || m["name"] != "alice" || meta["clientId"] != "abc" {
		t.Fatalf("split %v %v", shown, meta)
	}
	if shown, _ := splitData(nil); len(shown.(map[string]any)) != 0 {
		t.Fatalf("no data shown as %v, want {}", shown)
	}
	type profile struct{ Name string }
	if shown, meta := splitData(profile{"bob"}); shown != (profile{"bob"}) || meta != nil {
		t.Fatalf("a struct shown as %v", shown)
	}
}

// corsAnswer returns the Access-Control-Allow-Origin a server with cors
// gives a polling handshake from origin.
func corsAnswer(t *testing.T, cors *engineio.CORS, origin string) (allow, credentials string) {
	t.Helper()
	io := socketio.New(socketio.Config{Engine: engineio.Config{CORS: cors}, Logger: slog.New(slog.DiscardHandler)})
	defer func() { _ = io.Close(context.Background()) }()
	req := httptest.NewRequest(http.MethodOptions, "/socket.io/?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", origin)
	w := httptest.NewRecorder()
	io.ServeHTTP(w, req)
	return w.Header().Get("Access-Control-Allow-Origin"), w.Header().Get("Access-Control-Allow-Credentials")
}

func TestAllowHostedDashboard(t *testing.T) {
	for _, tc := range []struct {
		base           *engineio.CORS
		origin, allow  string
		allowedByOther bool
	}{
		{nil, HostedDashboard, HostedDashboard, false},
		{nil, "https://evil.example", "", false},
		{&engineio.CORS{Origins: []string{"https://chat.example"}}, "https://chat.example", "https://chat.example", true},
		{&engineio.CORS{Origins: []string{"https://chat.example"}}, HostedDashboard, HostedDashboard, false},
		{&engineio.CORS{}, "https://any.example", "https://any.example", true},
	} {
		allow, creds := corsAnswer(t, AllowHostedDashboard(tc.base), tc.origin)
		if allow != tc.allow || (allow != "" && creds != "true") {
			t.Errorf("base %+v, origin %s: allowed %q (credentials %q), want %q", tc.base, tc.origin, allow, creds, tc.allow)
		}
	}
}

func TestCloseStopsEverything(t *testing.T) {
	n := startNode(t, Config{NoAuth: true, Mode: Development})
	if err := n.admin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.admin.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The stats loop has ended (goleak checks it at the end); the hooks
	// emit nothing, and new dashboards are turned away.
	runScript(t, n, "closed", nil)
}
