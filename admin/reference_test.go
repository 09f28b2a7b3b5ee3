package admin

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// startInstrumented runs testdata/instrumented.mjs, Node's socket.io with
// instrument(io, options), and returns it as a node to run scenarios
// against. env is added to the script's environment (REDIS_URL, ADAPTER).
func startInstrumented(t *testing.T, options map[string]any, env ...string) *node {
	t.Helper()
	nodetest.Require(t)
	opts, _ := json.Marshal(options)
	cmd := exec.Command("node", "testdata/instrumented.mjs", string(opts))
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close() // the script exits when its stdin closes
		_ = cmd.Wait()
	})
	var ready struct{ Port int }
	if l, _ := nodetest.FirstLine(stdout, 30*time.Second); json.Unmarshal([]byte(l), &ready) != nil || ready.Port == 0 {
		t.Fatalf("instrumented.mjs did not start within 30 s: %q", l)
	}
	return &node{url: fmt.Sprintf("http://127.0.0.1:%d", ready.Port)}
}

// TestScenariosHoldForInstrument runs the scenarios that Parley passes
// against Node's own instrument 0.5.1: what they expect is what the
// reference does.
func TestScenariosHoldForInstrument(t *testing.T) {
	dev := startInstrumented(t, map[string]any{"auth": false, "mode": "development", "serverId": "node-1"})
	// stats first: it expects the namespaces / and /admin only.
	runScript(t, dev, "stats", map[string]any{"serverId": "node-1"})
	runScript(t, dev, "sockets,events,traffic,commands,dynamic", nil)
	all := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}
	runScript(t, dev, "config", []map[string]any{{"url": dev.url, "want": all}})

	readonly := startInstrumented(t, map[string]any{"auth": false, "mode": "development", "readonly": true})
	runScript(t, readonly, "readonly", nil)

	auth := startInstrumented(t, map[string]any{"auth": map[string]any{"type": "basic", "username": "admin", "password": changeit}, "mode": "production"})
	runScript(t, auth, "auth", nil)
}
