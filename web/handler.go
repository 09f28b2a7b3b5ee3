// Package web serves Parley's browser chat page: plain HTML, CSS and an ES
// module speaking the socket.io "private-messaging" protocol, plus the
// vendored socket.io browser client it imports. Everything is embedded in the
// binary, so no Node build step or npm is needed at run time.
package web

import (
	"net/http"
	"strings"

	"github.com/parley-chat/parley/internal/embedded"
)

// Handler returns the http.Handler serving the chat page at "/" and its
// static files (app.js, style.css, vendor/...) below it. It answers only GET
// and HEAD (405 otherwise) and 404 for unknown paths. It is meant to be
// mounted at "/", next to the socket.io endpoint at "/socket.io/".
func Handler() http.Handler {
	files, err := embedded.Load(staticFiles, staticRoot, indexName, describe)
	if err != nil {
		// Only a broken build (a missing go:embed file) gets here.
		panic("web: " + err.Error())
	}
	return embedded.Handler(files, pagePolicy)
}

// pagePolicy builds the Content-Security-Policy of the page. Scripts may only
// come from this origin as files (no inline code, no eval, no CDN), and the
// page may only talk to its own origin.
func pagePolicy(host string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		embedded.ConnectSrc(host),
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}
