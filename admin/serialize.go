package admin

import (
	"time"

	"github.com/parley-chat/parley/socketio"
)

// serializedSocket is a socket as the dashboard shows it, with
// instrument's field names.
type serializedSocket struct {
	ID string `json:"id"`
	// ClientID is the first 12 characters of the Engine.IO session id: the
	// dashboard groups the sockets of one connection by it.
	ClientID  string    `json:"clientId,omitempty"`
	Transport string    `json:"transport,omitempty"`
	Nsp       string    `json:"nsp"`
	Data      any       `json:"data"`
	Handshake handshake `json:"handshake"`
	Rooms     []string  `json:"rooms"`
}

// handshake is what the dashboard shows of a socket's handshake: not its
// auth payload, which may hold secrets.
type handshake struct {
	// Address is the client's, as the proxies in front say when they do
	// (cf-connecting-ip, x-forwarded-for).
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	Issued  int64             `json:"issued"`
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// adminData is the key under which instrument keeps, in socket.data, what
// the dashboard needs of a socket: {clientId, transport}. Node nodes send
// it with the data of their sockets in answers to FetchSockets.
const adminData = "_admin"

// serializeLocal describes a socket of this node.
func serializeLocal(s *socketio.Socket) serializedSocket {
	return serialize(s.Namespace().Name(), s.ID(), s.Handshake(), s.Rooms(), s.Data(), s)
}

// serializeFetched describes a socket FetchSockets found, here or on
// another node.
func serializeFetched(nsp string, r *socketio.RemoteSocket) serializedSocket {
	return serialize(nsp, r.ID, r.Handshake, r.Rooms, r.Data, r.Local())
}

// serialize describes a socket; local is the socket when it is on this
// node (its connection gives the client id and transport), nil otherwise
// (they come from the data's _admin).
func serialize(nsp, id string, hs socketio.Handshake, rooms []string, data any, local *socketio.Socket) serializedSocket {
	out := serializedSocket{ID: id, Nsp: nsp, Rooms: rooms, Handshake: handshake{
		Address: hs.Address,
		Headers: hs.Headers,
		Query:   hs.Query,
		Issued:  hs.Issued,
		Secure:  hs.Secure,
		Time:    hs.Time,
		URL:     hs.URL,
		XDomain: hs.XDomain,
	}}
	if ip := firstOf(hs.Headers, "cf-connecting-ip", "x-forwarded-for"); ip != "" {
		out.Handshake.Address = ip
	}
	if out.Rooms == nil {
		out.Rooms = []string{}
	}
	var meta map[string]any
	out.Data, meta = splitData(data)
	if local != nil {
		out.ClientID = clientID(local)
		out.Transport = local.Conn().Transport()
	} else {
		out.ClientID, _ = meta["clientId"].(string)
		out.Transport, _ = meta["transport"].(string)
	}
	return out
}

// clientID is the dashboard's id of a socket's connection.
func clientID(s *socketio.Socket) string {
	id := s.Conn().ID()
	return id[:min(len(id), 12)]
}

// firstOf returns the first of the headers that is set.
func firstOf(headers map[string]string, names ...string) string {
	for _, n := range names {
		if v := headers[n]; v != "" {
			return v
		}
	}
	return ""
}

// splitData returns a socket's data as the dashboard shows it (an object
// when there is none, as Node's socket.data starts empty) without
// instrument's _admin entry, and that entry.
func splitData(data any) (shown any, meta map[string]any) {
	switch d := data.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		meta, ok := d[adminData].(map[string]any)
		if !ok {
			return d, nil
		}
		rest := make(map[string]any, len(d)-1)
		for k, v := range d {
			if k != adminData {
				rest[k] = v
			}
		}
		return rest, meta
	}
	return data, nil
}

// jsDate writes a time as JavaScript's JSON form of a Date does.
func jsDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
