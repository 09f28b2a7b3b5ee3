package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/parley-chat/parley/socketio"
)

// TestSocketsOfOtherNodes checks the path of a socket through a cluster:
// its node adds the dashboard's details to the data other nodes see, which
// travels as JSON, and the dashboard's node shows them.
func TestSocketsOfOtherNodes(t *testing.T) {
	n := startNode(t, Config{NoAuth: true, Mode: Development})
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(n.url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, open, _ := ws.ReadMessage()
	_ = ws.WriteMessage(websocket.TextMessage, []byte("40"))
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.HasPrefix(string(msg), "40{") {
		t.Fatalf("CONNECT answer %q %v", msg, err)
	}
	var hs struct{ SID string }
	_ = json.Unmarshal(open[1:], &hs)
	for _, data := range []any{nil, map[string]any{"name": "alice"}, struct{ Name string }{"bob"}} {
		local := n.io.Sockets().LocalSockets()[0]
		local.SetData(data)
		fetched, err := n.io.FetchSockets(context.Background())
		if err != nil || len(fetched) != 1 {
			t.Fatalf("FetchSockets: %v %v", fetched, err)
		}
		// What a cluster adapter sends, as the other node decodes it.
		b, err := json.Marshal(fetched[0].ClusterData())
		if err != nil {
			t.Fatal(err)
		}
		var shared any
		_ = json.Unmarshal(b, &shared)
		remote := socketio.NewRemoteSocket(n.io.Sockets(), fetched[0].ID, fetched[0].Handshake, fetched[0].Rooms, shared)
		got := serializeFetched("/", remote)
		if got.ClientID != hs.SID[:12] || got.Transport != "websocket" {
			t.Fatalf("data %v: a socket of another node shows client %q, transport %q", data, got.ClientID, got.Transport)
		}
		if m, ok := got.Data.(map[string]any); !ok || m[adminData] != nil {
			t.Fatalf("data %v shown as %v", data, got.Data)
		}
		if fmt.Sprint(local.Data()) != fmt.Sprint(data) {
			t.Fatalf("the socket's own data became %v", local.Data())
		}
	}
}
