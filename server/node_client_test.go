package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
	"github.com/parley-chat/parley/server"
)

// TestNodeClient runs the chat protocol with the official socket.io-client
// 4.8 (npm) over each transport; testdata/chat-client.mjs holds the
// assertions.
func TestNodeClient(t *testing.T) {
	for _, mode := range []string{"polling", "websocket", "default"} {
		t.Run(mode, func(t *testing.T) {
			n := startNode(t, server.Config{})
			out := nodetest.Run(t, time.Minute, "testdata/chat-client.mjs", n.URL, mode)
			if !strings.Contains(out, "PASS "+mode) {
				t.Fatalf("chat-client.mjs did not pass:\n%s", out)
			}
		})
	}
}
