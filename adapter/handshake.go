package adapter

import (
	"net"
	"strings"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/internal/wire"
)

// jsDateLayout is how JavaScript's Date.prototype.toString writes a UTC
// date, which is what socket.io puts in handshake.time.
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT-0700"

// socketInfo describes a local socket for a fetchSockets answer, with the
// handshake shaped as Node's socket.io shapes it, so a Node requester's
// RemoteSocket reads it like one of its own.
func socketInfo(s *socket.Socket) wire.SocketInfo {
	info := wire.SocketInfo{ID: string(s.Id()), Data: s.Data()}
	for _, r := range s.Rooms().Keys() {
		info.Rooms = append(info.Rooms, string(r))
	}
	if h := s.Handshake(); h != nil {
		var host string
		if req := s.Request(); req != nil && req.Request() != nil {
			host = req.Request().Host
		}
		info.Handshake = nodeHandshake(h, host)
	}
	return info
}

// nodeHandshake shapes h as Node's socket.io does. host is the request's
// Host header, which Go keeps out of the header map and Node keeps in it.
func nodeHandshake(h *socket.Handshake, host string) map[string]any {
	headers := make(map[string]any, len(h.Headers)+1)
	if host != "" {
		headers["host"] = host
	}
	for k, v := range h.Headers {
		headers[strings.ToLower(k)] = headerValue(strings.ToLower(k), v)
	}
	query := make(map[string]any, len(h.Query))
	for k, v := range h.Query {
		query[k] = queryValue(v)
	}
	auth := h.Auth
	if auth == nil {
		auth = map[string]any{}
	}
	return map[string]any{
		"headers": headers,
		"time":    jsTime(h.Time, h.Issued),
		"address": hostOnly(h.Address),
		"xdomain": h.Xdomain,
		"secure":  h.Secure,
		"issued":  h.Issued,
		"url":     h.Url,
		"query":   query,
		"auth":    auth,
	}
}

// hostOnly drops the port the library keeps in the client address; Node's
// handshake.address is the IP alone.
func hostOnly(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// headerValue joins repeated headers as Node's http module does, except
// set-cookie which Node keeps as an array.
func headerValue(name string, v any) any {
	values, ok := v.([]string)
	if !ok {
		return v
	}
	if name == "set-cookie" {
		return values
	}
	return strings.Join(values, ", ")
}

// queryValue is a string for a single value and an array for repeats, as
// Node's querystring parses them.
func queryValue(v any) any {
	values, ok := v.([]string)
	if !ok {
		return v
	}
	if len(values) == 1 {
		return values[0]
	}
	return values
}

func jsTime(s string, issuedMs int64) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t = time.UnixMilli(issuedMs)
	}
	return t.UTC().Format(jsDateLayout) + " (Coordinated Universal Time)"
}

// remoteSocket is a socket of another node, as a fetchSockets answer
// describes it. The library wraps it in a socket.RemoteSocket, whose
// operations come back through the adapter.
type remoteSocket struct {
	id        socket.SocketId
	handshake *socket.Handshake
	rooms     *types.Set[socket.Room]
	data      any
}

func (r *remoteSocket) Id() socket.SocketId          { return r.id }
func (r *remoteSocket) Handshake() *socket.Handshake { return r.handshake }
func (r *remoteSocket) Rooms() *types.Set[socket.Room] {
	return r.rooms
}
func (r *remoteSocket) Data() any { return r.data }

func newRemoteSocket(info wire.SocketInfo) *remoteSocket {
	rooms := types.NewSet[socket.Room]()
	for _, r := range info.Rooms {
		rooms.Add(socket.Room(r))
	}
	return &remoteSocket{id: socket.SocketId(info.ID), handshake: goHandshake(info.Handshake), rooms: rooms, data: info.Data}
}

func goHandshake(m map[string]any) *socket.Handshake {
	h := &socket.Handshake{Headers: types.IncomingHttpHeaders{}, Query: types.ParsedUrlQuery{}}
	if m == nil {
		return h
	}
	if v, ok := m["headers"].(map[string]any); ok {
		h.Headers = v
	}
	if v, ok := m["query"].(map[string]any); ok {
		h.Query = v
	}
	if v, ok := m["auth"].(map[string]any); ok {
		h.Auth = v
	}
	h.Time, _ = m["time"].(string)
	h.Address, _ = m["address"].(string)
	h.Url, _ = m["url"].(string)
	h.Xdomain, _ = m["xdomain"].(bool)
	h.Secure, _ = m["secure"].(bool)
	switch n := m["issued"].(type) {
	case float64:
		h.Issued = int64(n)
	case int64:
		h.Issued = n
	case uint64:
		h.Issued = int64(n)
	}
	return h
}
