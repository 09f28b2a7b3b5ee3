package socketio

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// TestBrowserBundle loads socket.io-client's browser bundle (its dist
// file, served by the test's server) in Debian's Chromium, driven by
// playwright-core (testdata/browser.mjs): two pages connect over long
// polling and upgrade to WebSocket, one emits text and binary with an ack,
// and both receive a binary broadcast, compared byte for byte.
func TestBrowserBundle(t *testing.T) {
	nodetest.RequireChromium(t)
	bundle := filepath.Join(nodetest.Root(t), "node_modules", "socket.io-client", "dist", "socket.io.min.js")
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("socket.io-client's bundle is missing (run npm ci): %v", err)
	}
	rs := newRig(t).start(rigOptions{})
	rs.mux.HandleFunc("/socket.io.min.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, bundle) })
	rs.mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, "testdata/browser.html") })
	out := nodetest.Run(t, 2*time.Minute, "testdata/browser.mjs", rs.url+"/")
	checkSuiteOutput(t, out)
}
