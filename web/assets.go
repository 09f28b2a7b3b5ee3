package web

import (
	"embed"
	"path"
	"strings"

	"github.com/parley-chat/parley/internal/embedded"
)

// staticFiles holds the whole page: HTML, CSS, the app module and the vendored
// socket.io client. Embedding it keeps the binary self-contained (no npm, no
// files next to the executable).
//
//go:embed static
var staticFiles embed.FS

// staticRoot is the directory inside staticFiles that maps to the URL root.
const staticRoot = "static"

// indexName is the page served at "/".
const indexName = "index.html"

// vendorDir holds third-party files pinned by package-lock.json.
const vendorDir = "vendor/"

// Cache policies. The page and the app's own files carry no content hash in
// their names, so browsers must revalidate them (cheap thanks to the ETag) or
// a deploy would mix old and new code. Vendored files only change when the
// pinned npm version changes, and the favicon hardly ever, so they may be
// cached for a day.
const (
	cacheRevalidate = "no-cache"
	cacheDay        = "public, max-age=86400"
)

// contentTypes maps file extensions to the Content-Type sent. It is explicit
// rather than taken from mime.TypeByExtension, whose answer depends on the
// host's mime.types files.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// describe sets a file's Content-Type and cache policy from its name.
func describe(f *embedded.File) {
	f.ContentType = contentTypeOf(f.Name)
	f.CacheControl = cacheRevalidate
	if strings.HasPrefix(f.Name, vendorDir) || path.Ext(f.Name) == ".svg" {
		f.CacheControl = cacheDay
	}
}

// contentTypeOf picks the Content-Type for a file name; files without a known
// extension (such as LICENSE) are plain text.
func contentTypeOf(name string) string {
	if ct, ok := contentTypes[path.Ext(name)]; ok {
		return ct
	}
	return "text/plain; charset=utf-8"
}
