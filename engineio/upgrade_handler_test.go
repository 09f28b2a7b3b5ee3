package engineio

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// upgradeRecorder is an echo handler that records upgrades, and the
// transport each saw.
type upgradeRecorder struct {
	echoHandler
	upgrades chan string
}

func (h *upgradeRecorder) OnUpgrade(c *Conn) { h.upgrades <- c.Transport() }

func TestUpgradeHandlerIsTold(t *testing.T) {
	ts := startServer(t, Config{})
	h := &upgradeRecorder{upgrades: make(chan string, 1)}
	ts.OnConnection(func(*Conn) Handler { return h })
	url := ts.openPolling(t)
	sid := url[strings.LastIndex(url, "=")+1:]
	if n := ts.PollingCount(); n != 1 {
		t.Fatalf("PollingCount with one polling session: %d", n)
	}
	ws := dialWS(t, ts, sid)
	_ = ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "3probe" {
		t.Fatalf("probe answer %q %v", msg, err)
	}
	if len(h.upgrades) != 0 {
		t.Fatal("told of an upgrade before the upgrade packet")
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("5"))
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4hello"))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "4hello" {
		t.Fatalf("echo after the upgrade %q %v", msg, err)
	}
	// OnUpgrade ran before the next message was handled.
	select {
	case tr := <-h.upgrades:
		if tr != WebSocket {
			t.Fatalf("transport seen by OnUpgrade: %q", tr)
		}
	default:
		t.Fatal("OnUpgrade not called")
	}
	dialWS(t, ts, "") // a session opened over WebSocket is not polling
	// The session is registered once its open packet is on its way: the
	// dial may return first.
	for deadline := time.Now().Add(3 * time.Second); ts.ClientsCount() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n, all := ts.PollingCount(), ts.ClientsCount(); n != 0 || all != 2 {
		t.Fatalf("PollingCount %d of %d sessions, want 0 of 2", n, all)
	}
}
