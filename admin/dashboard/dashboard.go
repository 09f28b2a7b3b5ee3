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
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// files holds the vendored package; dist is the dashboard in it.
//
//go:embed admin-ui
var files embed.FS

const dist = "admin-ui/ui/dist"

// file is one embedded file, ready to serve.
type file struct {
	name         string
	body         []byte
	contentType  string
	cacheControl string
	etag         string
}

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
	byPath, err := load()
	if err != nil {
		panic(err) // only a broken build (a missing go:embed file) gets here
	}
	return handler(byPath)
}

// load indexes the dashboard's files by URL path.
func load() (map[string]*file, error) {
	byPath := make(map[string]*file)
	err := fs.WalkDir(files, dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, dist+"/")
		sum := sha256.Sum256(body)
		f := &file{
			name:        name,
			body:        body,
			contentType: contentTypes[path.Ext(name)],
			// The page must be fetched again after an upgrade; the files
			// it loads carry a content hash in their names (favicon aside).
			cacheControl: "public, max-age=31536000, immutable",
			etag:         `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		if f.contentType == "" {
			f.contentType = "application/octet-stream"
		}
		switch name {
		case "index.html":
			f.cacheControl = "no-cache"
		case "favicon.png":
			f.cacheControl = "public, max-age=86400"
		}
		byPath["/"+name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: load the embedded files: %w", err)
	}
	index, ok := byPath["/index.html"]
	if !ok {
		return nil, fmt.Errorf("dashboard: %s/index.html is not embedded", dist)
	}
	byPath["/"] = index
	return byPath, nil
}

type handler map[string]*file

// ServeHTTP implements http.Handler.
func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, ok := h[r.URL.Path] // a map lookup: "..", encoded slashes and the like miss
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", f.cacheControl)
	hdr.Set("ETag", f.etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if f.name == "index.html" {
		hdr.Set("Content-Security-Policy", pagePolicy(r.Host))
		hdr.Set("Referrer-Policy", "no-referrer")
	}
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}

// pagePolicy is the dashboard's Content-Security-Policy. Its scripts come
// from this server only, as files; it talks to this server only (its
// admin namespace: for another server, use that server's dashboard or the
// hosted one); it may load its stylesheets and fonts from the two CDNs its
// page names. Vuetify writes its theme into a style element, hence inline
// styles.
func pagePolicy(host string) string {
	connect := "connect-src 'self'"
	if safeHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://cdn.jsdelivr.net",
		"font-src 'self' https://fonts.gstatic.com https://cdn.jsdelivr.net",
		"img-src 'self' data:",
		connect,
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// safeHost reports whether a Host header can go into the policy as it is:
// a host name or IP literal with an optional port.
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
