package socketio

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// TestOfficialNodeClient runs the scenarios of testdata/client-suite.mjs
// with socket.io-client 4.8 in Node.js against the rig's servers, over long
// polling only, WebSocket only, and polling then upgrade: connection and
// upgrade (order of packets across it), binary both ways, acks both ways,
// broadcast with acks, namespaces (several over one connection, dynamic
// ones), connection and event middlewares, rooms and the broadcast
// operators, server-side disconnections, DisconnectSockets, SocketsJoin and
// SocketsLeave, FetchSockets, the server's disconnect reasons and
// connection state recovery. Each scenario is a subtest named
// <transport>/<scenario>; the script holds the assertions, made from the
// client's side (the rig reports the server's side: reasons, rooms, what it
// decoded). SOCKETIO_SUITE=<substring> runs the matching scenarios only.
func TestOfficialNodeClient(t *testing.T) {
	r := newRig(t)
	ctl := r.start(rigOptions{})
	out := nodetest.Run(t, 4*time.Minute, "testdata/client-suite.mjs", ctl.url, os.Getenv("SOCKETIO_SUITE"))
	checkSuiteOutput(t, out)
}

var suiteLine = regexp.MustCompile(`^(PASS|FAIL) ([^\s:]+):?(.*)$`)

// checkSuiteOutput turns the PASS and FAIL lines of a Node script into
// subtests, and fails unless it reported DONE with every scenario passed.
func checkSuiteOutput(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	done := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "DONE ") {
			done = true
			passed, total, _ := strings.Cut(strings.TrimPrefix(line, "DONE "), "/")
			if passed != total || total == "0" {
				t.Errorf("%s scenarios passed", line[5:])
			}
			_ = passed
			continue
		}
		m := suiteLine.FindStringSubmatch(line)
		if m == nil {
			if strings.TrimSpace(line) != "" {
				t.Logf("node: %s", line)
			}
			continue
		}
		detail := m[3]
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    ") {
			i++
			detail += "\n" + lines[i]
		}
		t.Run(m[2], func(t *testing.T) {
			if m[1] == "FAIL" {
				t.Error(strings.TrimPrefix(detail, ": "))
				return
			}
			t.Log(strings.TrimSpace(detail))
		})
	}
	if !done {
		t.Errorf("the script did not finish:\n%s", out)
	}
}
