package socketio

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// TestMalformedInputLikeNode sends every seed of FuzzSocketInput to Parley
// and to Node's socket.io 4.8 serving the same events
// (testdata/suite-server.mjs), and requires the same outcome from both:
// the same packets back (socket ids aside), then the probe's answer or the
// connection's end.
func TestMalformedInputLikeNode(t *testing.T) {
	node := startNodeServer(t, "testdata/suite-server.mjs")
	fz := &fuzzSocket{}
	parley := newFuzzSocketServer(t, fz)
	for i, seed := range socketSeeds {
		data := []byte(seed)
		want := inputOutcome(t, node, data)
		got := inputOutcome(t, parley, data)
		if !slices.Equal(got, want) {
			t.Errorf("seed %d %s:\n parley %q\n node   %q", i, short(data), got, want)
		}
	}
}

var sidField = regexp.MustCompile(`"sid":"[^"]+"`)

// inputOutcome connects to "/" of the server at base, sends the input as
// FuzzSocketInput does, then the probe, and returns what came back: every
// message, socket ids blanked, and "closed" when the connection ended.
func inputOutcome(t *testing.T, base string, data []byte) []string {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || !bytes.HasPrefix(msg, []byte("0{")) {
		t.Fatalf("%s: open packet %q: %v", base, msg, err)
	}
	// Node closes a connection that sends packets to a namespace before
	// its CONNECT is answered (its middlewares run asynchronously): wait.
	_ = ws.WriteMessage(websocket.TextMessage, []byte("40"))
	if _, msg, err := ws.ReadMessage(); err != nil || !bytes.HasPrefix(msg, []byte("40{")) {
		t.Fatalf("%s: CONNECT answer %q: %v", base, msg, err)
	}
	for part := range bytes.SplitSeq(data, []byte{0x1e}) {
		if len(part) > 0 && part[0] == 'b' {
			_ = ws.WriteMessage(websocket.BinaryMessage, part[1:])
		} else {
			_ = ws.WriteMessage(websocket.TextMessage, append([]byte{'4'}, part...))
		}
	}
	probe := `42["message","probe"]`
	_ = ws.WriteMessage(websocket.TextMessage, []byte(probe))
	var out []string
	for {
		kind, msg, err := ws.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("%s: input %s: neither answered nor closed within 5 s; got %q", base, short(data), out)
			}
			return append(out, "closed")
		}
		m := sidField.ReplaceAllString(string(msg), `"sid":"*"`)
		if kind == websocket.BinaryMessage {
			m = fmt.Sprintf("binary %x", msg)
		}
		out = append(out, m)
		if m == `42["message-back","probe"]` {
			return out
		}
	}
}

// startNodeServer runs a Node.js server script that prints its URL and
// exits when its stdin closes.
func startNodeServer(t *testing.T, script string) string {
	t.Helper()
	nodetest.Require(t)
	cmd := exec.Command("node", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	url, _ := nodetest.FirstLine(stdout, 10*time.Second)
	if !strings.HasPrefix(url, "http://") {
		t.Fatalf("node %s did not start within 10 s: %q\n%s", script, url, stderr.String())
	}
	return url
}
