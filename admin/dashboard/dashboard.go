// Package dashboard serves the Socket.IO Admin UI's dashboard: the built
// files of @socket.io/admin-ui 0.5.1 (its ui/dist), vendored unchanged in
// admin-ui/ by vendor.sh and embedded in the binary. The dashboard is a
// static page; once an operator gives it the server's URL and credentials,
// it speaks to the admin namespace that package admin serves.
//
//	mux.Handle("/admin/", http.StripPrefix("/admin", dashboard.Handler()))
//
// The page loads its fonts and icons from two CDNs (Google Fonts and
// jsDelivr), as the package builds it; without them it works, with plain
// fonts and without icons.
package dashboard

import (
	"embed"
	"net/http"
	"path"
	"strings"

	"github.com/parley-chat/parley/internal/embedded"
)

// files holds the vendored package; dist is the dashboard in it.
//
//go:embed admin-ui
var files embed.FS

const dist = "admin-ui/ui/dist"

// contentTypes are the types of the dashboard's files, fixed rather than
// taken from the host's mime.types.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// Handler returns the http.Handler of the dashboard: index.html at "/",
// the files it loads below. Mount it under a prefix with http.StripPrefix
// (the page refers to its files by relative paths, so its URL must end
// with "/"). It answers GET and HEAD, 404 for unknown paths.
func Handler() http.Handler {
	byPath, err := embedded.Load(files, dist, "index.html", describe)
	if err != nil {
		panic("dashboard: " + err.Error()) // only a broken build (a missing go:embed file) gets here
	}
	return embedded.Handler(byPath, pagePolicy)
}

// describe sets a file's Content-Type and cache policy: the page must be
// fetched again after an upgrade; the files it loads carry a content hash
// in their names (favicon aside).
func describe(f *embedded.File) {
	f.ContentType = contentTypes[path.Ext(f.Name)]
	if f.ContentType == "" {
		f.ContentType = "application/octet-stream"
	}
	switch f.Name {
	case "index.html":
		f.CacheControl = "no-cache"
	case "favicon.png":
		f.CacheControl = "public, max-age=86400"
	default:
		f.CacheControl = "public, max-age=31536000, immutable"
	}
}

// pagePolicy is the dashboard's Content-Security-Policy. Its scripts come
// from this server only, as files; it talks to this server only (its
// admin namespace: for another server, use that server's dashboard or the
// hosted one); it may load its stylesheets and fonts from the two CDNs its
// page names. Vuetify writes its theme into a style element, hence inline
// styles.
func pagePolicy(host string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://cdn.jsdelivr.net",
		"font-src 'self' https://fonts.gstatic.com https://cdn.jsdelivr.net",
		"img-src 'self' data:",
		embedded.ConnectSrc(host),
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}
