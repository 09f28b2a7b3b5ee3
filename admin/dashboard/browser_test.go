package dashboard_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/admin"
	"github.com/parley-chat/parley/admin/dashboard"
	"github.com/parley-chat/parley/internal/testrig/nodetest"
	"github.com/parley-chat/parley/socketio"
	"golang.org/x/crypto/bcrypt"
)

// TestDashboardInChromium serves the vendored dashboard next to an
// instrumented node and drives it in Chromium (testdata/browser.mjs): an
// operator logs in and sees the node, its sockets and their rooms. The
// screenshots go to artifacts/ at the repository root (or $ARTIFACTS_DIR).
func TestDashboardInChromium(t *testing.T) {
	nodetest.RequireChromium(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	io := socketio.New(socketio.Config{Logger: quiet})
	io.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(args socketio.Args, ack socketio.Ack) {
			room, _ := args.String(0)
			s.Join(room)
			_ = ack.Send()
		})
	})
	a, err := admin.Instrument(io, admin.Config{Username: "admin", PasswordHash: string(hash), Mode: admin.Development, ServerID: "parley-test", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	mux.Handle("/admin/", http.StripPrefix("/admin", dashboard.Handler()))
	ts := httptest.NewServer(mux)
	defer func() {
		_ = a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		ts.Close()
	}()
	artifacts := nodetest.Artifacts(t)
	out := nodetest.Run(t, 2*time.Minute, "testdata/browser.mjs", ts.URL, artifacts, "admin", "s3cret", "parley-test")
	if !strings.Contains(out, "PASS") {
		t.Fatalf("browser.mjs did not pass:\n%s", out)
	}
	for _, shot := range []string{"admin-sockets.png", "admin-dashboard.png"} {
		if fi, err := os.Stat(filepath.Join(artifacts, shot)); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s missing: %v", shot, err)
		}
	}
}
