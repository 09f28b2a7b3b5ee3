// Package web serves Parley's browser chat page: plain HTML, CSS and an ES
// module speaking the socket.io "private-messaging" protocol, plus the
// vendored socket.io browser client it imports. Everything is embedded in the
// binary, so no Node build step or npm is needed at run time.
package web

import (
	"bytes"
	"net/http"
	"strings"
	"time"
)

// Handler returns the http.Handler serving the chat page at "/" and its
// static files (app.js, style.css, vendor/...) below it. It answers only GET
// and HEAD (405 otherwise) and 404 for unknown paths. It is meant to be
// mounted at "/", next to the socket.io endpoint at "/socket.io/".
func Handler() http.Handler {
	assets, err := loadAssets(staticFiles)
	if err != nil {
		// Only a broken build (a missing go:embed file) gets here.
		panic(err)
	}
	return &handler{assets: assets}
}

// handler serves a fixed set of in-memory files.
type handler struct {
	assets map[string]*asset
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// A map lookup, never a file system path: "..", encoded slashes and the
	// like simply miss.
	a, ok := h.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", a.cacheControl)
	hdr.Set("ETag", a.etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if a.isPage {
		hdr.Set("Content-Security-Policy", pagePolicy(r.Host))
		hdr.Set("Referrer-Policy", "no-referrer")
	}
	// ServeContent handles HEAD, If-None-Match (304) and Range for us.
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}

// pagePolicy builds the Content-Security-Policy of the page. Scripts may only
// come from this origin as files (no inline code, no eval, no CDN), and the
// page may only talk to its own origin. The ws:// and wss:// forms of the host
// are listed explicitly because older browsers do not let 'self' cover
// WebSocket URLs.
func pagePolicy(host string) string {
	connect := "connect-src 'self'"
	if safeHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		connect,
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// safeHost reports whether a Host header can be put into the policy verbatim:
// a host name or IP literal with an optional port, nothing that could end a
// directive or add a source.
func safeHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(".-:[]", c):
		default:
			return false
		}
	}
	return true
}
