package adapter

import (
	"fmt"
	"strings"

	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/socketio"
)

// socketInfo describes a local socket for a fetchSockets answer, with the
// handshake shaped as Node's socket.io shapes it, so a Node requester's
// RemoteSocket reads it like one of its own.
func socketInfo(s *socketio.Socket) wire.SocketInfo {
	h := s.Handshake()
	headers := make(map[string]any, len(h.Headers))
	for k, v := range h.Headers {
		headers[k] = v
	}
	query := make(map[string]any, len(h.Query))
	for k, v := range h.Query {
		query[k] = v
	}
	return wire.SocketInfo{
		ID:    s.ID(),
		Rooms: s.Rooms(),
		Data:  s.ClusterData(),
		Handshake: map[string]any{
			"headers": headers,
			"time":    h.Time,
			"address": h.Address,
			"xdomain": h.XDomain,
			"secure":  h.Secure,
			"issued":  h.Issued,
			"url":     h.URL,
			"query":   query,
			"auth":    h.Auth,
		},
	}
}

// remoteSocket makes a socket of another node, as its fetchSockets answer
// describes it; its operations come back through this adapter.
func (a *NamespaceAdapter) remoteSocket(info wire.SocketInfo) *socketio.RemoteSocket {
	return socketio.NewRemoteSocket(a.nsp, info.ID, goHandshake(info.Handshake), info.Rooms, info.Data)
}

// goHandshake reads a handshake as a Node node (or Parley) sends it.
func goHandshake(m map[string]any) socketio.Handshake {
	h := socketio.Handshake{Headers: map[string]string{}, Query: map[string]string{}, Auth: map[string]any{}}
	if m == nil {
		return h
	}
	if v, ok := m["headers"].(map[string]any); ok {
		for k, x := range v {
			h.Headers[k] = joined(x)
		}
	}
	if v, ok := m["query"].(map[string]any); ok {
		for k, x := range v {
			h.Query[k] = last(x)
		}
	}
	if v, ok := m["auth"].(map[string]any); ok {
		h.Auth = v
	}
	h.Time, _ = m["time"].(string)
	h.Address, _ = m["address"].(string)
	h.URL, _ = m["url"].(string)
	h.XDomain, _ = m["xdomain"].(bool)
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

// joined is a header's value: repeated values (set-cookie, which Node keeps
// as an array) joined as Node's http module joins the others.
func joined(v any) string {
	if list, ok := v.([]any); ok {
		parts := make([]string, len(list))
		for i, p := range list {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ", ")
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// last is a query parameter's value: the last of repeated ones.
func last(v any) string {
	if list, ok := v.([]any); ok && len(list) > 0 {
		return fmt.Sprint(list[len(list)-1])
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}
