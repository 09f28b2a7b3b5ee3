package admin

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/socketio"
)

// fetchTimeout bounds the gathering of all_sockets (a cluster request per
// namespace).
const fetchTimeout = 10 * time.Second

// watch registers the hooks of development mode: the server tells of every
// socket, room and transport change, and each socket of its events.
func (a *Admin) watch() {
	a.io.OnAnyConnection(a.onSocket)
	a.io.OnRoomJoined(func(nsp *socketio.Namespace, room, id string) {
		a.emit("room_joined", nsp.Name(), room, id, jsDate(time.Now()))
	})
	a.io.OnRoomLeft(func(nsp *socketio.Namespace, room, id string) {
		a.emit("room_left", nsp.Name(), room, id, jsDate(time.Now()))
	})
	a.io.OnUpgrade(func(s *socketio.Socket) {
		a.emit("socket_updated", socketUpdate{ID: s.ID(), Nsp: s.Namespace().Name(), Transport: s.Conn().Transport()})
	})
	a.io.OnClusterData(shareAdminData)
	a.io.OnSetData(func(s *socketio.Socket) {
		if !s.Connected() {
			return // data set by a middleware comes with socket_connected
		}
		data, _ := splitData(s.Data())
		a.emit("socket_updated", socketUpdate{ID: s.ID(), Nsp: s.Namespace().Name(), Data: data})
	})
}

// socketUpdate is the payload of "socket_updated": the fields that
// changed.
type socketUpdate struct {
	ID        string `json:"id"`
	Nsp       string `json:"nsp"`
	Transport string `json:"transport,omitempty"`
	Data      any    `json:"data,omitempty"`
}

// onSocket reports a socket that connected, and registers what reports
// its events and its end. The admin namespace's own events are not
// reported, as instrument does not.
func (a *Admin) onSocket(s *socketio.Socket) {
	if a.isClosed() {
		return
	}
	nsp, id := s.Namespace().Name(), s.ID()
	a.emit("socket_connected", serializeLocal(s), jsDate(time.Now()))
	s.OnDisconnect(func(reason socketio.DisconnectReason) {
		a.emit("socket_disconnected", nsp, id, string(reason), jsDate(time.Now()))
	})
	if s.Namespace() == a.nsp {
		return
	}
	s.OnAny(func(ev string, args socketio.Args) {
		a.emit("event_received", nsp, id, append([]any{ev}, args.Values()...), jsDate(time.Now()))
	})
	s.OnAnyOutgoing(func(ev string, args []any) {
		a.emit("event_sent", nsp, id, append([]any{ev}, args...), jsDate(time.Now()))
	})
}

// sendAllSockets sends a dashboard that connected the sockets of every
// namespace, on every node.
func (a *Admin) sendAllSockets(s *socketio.Socket) {
	ctx, cancel := context.WithTimeout(a.ctx, fetchTimeout)
	defer cancel()
	nsps := a.io.Namespaces()
	found := make([][]serializedSocket, len(nsps))
	var wg sync.WaitGroup
	for i, n := range nsps {
		wg.Go(func() {
			sockets, err := n.FetchSockets(ctx)
			if err != nil {
				a.log.Warn("admin: fetching the sockets of a namespace", "nsp", n.Name(), "err", err)
			}
			for _, r := range sockets {
				found[i] = append(found[i], serializeFetched(n.Name(), r))
			}
		})
	}
	wg.Wait()
	all := slices.Concat(found...)
	if all == nil {
		all = []serializedSocket{}
	}
	slices.SortStableFunc(all, func(x, y serializedSocket) int { return strings.Compare(x.Nsp, y.Nsp) })
	_ = s.Emit("all_sockets", all)
}

// shareAdminData adds to what other nodes see of a socket's data the
// details their dashboards show ({clientId, transport} under _admin, where
// instrument keeps them in socket.data): a dashboard on another node, Node
// or Parley, gets them from FetchSockets. Data that has no object form is
// left as it is.
func shareAdminData(s *socketio.Socket, data any) any {
	meta := map[string]any{"clientId": clientID(s), "transport": s.Conn().Transport()}
	var obj map[string]any
	switch d := data.(type) {
	case nil:
		obj = map[string]any{}
	case map[string]any:
		obj = maps.Clone(d)
	default:
		b, err := json.Marshal(data)
		if err != nil || json.Unmarshal(b, &obj) != nil || obj == nil {
			return data
		}
	}
	obj[adminData] = meta
	return obj
}
