package socketio

import (
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/parley-chat/parley/engineio"
)

// Handshake describes how a socket connected, in the shape of Node's
// socket.handshake (the JSON names are Node's, as fetchSockets sends them
// across a cluster).
type Handshake struct {
	// Headers are the request's headers, names in lower case, repeated
	// values joined with ", ".
	Headers map[string]string `json:"headers"`
	// Time is when the session opened, as JavaScript prints a Date.
	Time string `json:"time"`
	// Address is the client's IP address.
	Address string `json:"address"`
	// XDomain is set when the request came from a page of another origin
	// (it carried an Origin header).
	XDomain bool `json:"xdomain"`
	// Secure is set when the connection used TLS.
	Secure bool `json:"secure"`
	// Issued is when the session opened, in milliseconds since the epoch.
	Issued int64 `json:"issued"`
	// URL is the path and query of the opening request.
	URL string `json:"url"`
	// Query holds the query parameters (the last value of each).
	Query map[string]string `json:"query"`
	// Auth is the payload of the client's CONNECT packet.
	Auth map[string]any `json:"auth"`
}

func newHandshake(r *engineio.Request, auth map[string]any) Handshake {
	h := Handshake{
		Headers: map[string]string{},
		Time:    jsDate(r.Issued),
		Address: hostOf(r.RemoteAddr),
		Secure:  r.Secure,
		Issued:  r.Issued.UnixMilli(),
		URL:     r.URL,
		Query:   map[string]string{},
		Auth:    auth,
	}
	if h.Auth == nil {
		h.Auth = map[string]any{}
	}
	for k, vs := range r.Header() {
		h.Headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	_, h.XDomain = h.Headers["origin"]
	if _, q, ok := strings.Cut(r.URL, "?"); ok {
		if values, err := url.ParseQuery(q); err == nil {
			for k, vs := range values {
				h.Query[k] = vs[len(vs)-1]
			}
		}
	}
	return h
}

func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// jsDate formats t as JavaScript's String(new Date()) does.
func jsDate(t time.Time) string {
	name, _ := t.Zone()
	if name == "UTC" {
		name = "Coordinated Universal Time"
	}
	return t.Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (" + name + ")"
}
