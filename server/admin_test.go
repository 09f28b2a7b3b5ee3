package server_test

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-chat/parley/admin"
	"github.com/parley-chat/parley/server"
)

// handshake opens an Engine.IO session by polling as a page of origin
// would, and returns the status and the CORS answer.
func handshake(t *testing.T, url, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/socket.io/?EIO=4&transport=polling", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin")
}

// TestHostedDashboardOrigin: the hosted dashboard's origin is let in only
// when the admin UI asks for it, next to the configured origins.
func TestHostedDashboardOrigin(t *testing.T) {
	withHosted := startNode(t, server.Config{
		AllowedOrigins: []string{"http://chat.example"},
		Admin:          &server.AdminConfig{Config: admin.Config{NoAuth: true}, HostedDashboard: true},
	})
	for _, origin := range []string{admin.HostedDashboard, "http://chat.example"} {
		if code, allow := handshake(t, withHosted.URL, origin); code != http.StatusOK || allow != origin {
			t.Errorf("with the hosted dashboard, origin %s: %d, Access-Control-Allow-Origin %q", origin, code, allow)
		}
	}
	if code, _ := handshake(t, withHosted.URL, "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("another origin: %d, want 403", code)
	}
	for name, cfg := range map[string]server.Config{
		"admin UI off":           {},
		"hosted dashboard unset": {Admin: &server.AdminConfig{Config: admin.Config{NoAuth: true}}},
	} {
		n := startNode(t, cfg)
		if code, _ := handshake(t, n.URL, admin.HostedDashboard); code != http.StatusForbidden {
			t.Errorf("%s: the hosted dashboard's origin got %d, want 403", name, code)
		}
	}
}

// TestAdminServerIDIsHostAndProcess: nodes of one host stay apart in the
// dashboard unless named, and the log says the admin UI is on.
func TestAdminServerIDIsHostAndProcess(t *testing.T) {
	host, _ := os.Hostname()
	n := startNode(t, server.Config{Admin: &server.AdminConfig{Config: admin.Config{NoAuth: true}}})
	// Serve instruments before it serves: a request answered means the
	// line is written.
	if code, _ := handshake(t, n.URL, ""); code != http.StatusOK {
		t.Fatalf("handshake: %d", code)
	}
	want := "server_id=" + host + "#" + strconv.Itoa(os.Getpid())
	if logs := n.log.String(); !strings.Contains(logs, "parley: admin UI on") || !strings.Contains(logs, want) {
		t.Fatalf("want the admin UI's log line with %s<pid>:\n%s", want, logs)
	}
	named := startNode(t, server.Config{Admin: &server.AdminConfig{Config: admin.Config{NoAuth: true, ServerID: "eu-1"}}})
	if code, _ := handshake(t, named.URL, ""); code != http.StatusOK {
		t.Fatalf("handshake: %d", code)
	}
	if logs := named.log.String(); !strings.Contains(logs, "server_id=eu-1") {
		t.Fatalf("a configured server id is not used:\n%s", logs)
	}
}
