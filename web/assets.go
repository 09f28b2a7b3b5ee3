package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"
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

// asset is one embedded file, ready to be served.
type asset struct {
	name         string // path below static/, also what http.ServeContent sees
	body         []byte
	contentType  string
	cacheControl string
	etag         string
	isPage       bool // an HTML document: gets the security headers
}

// contentTypes maps file extensions to the Content-Type sent. It is explicit
// rather than taken from mime.TypeByExtension, whose answer depends on the
// host's mime.types files.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// loadAssets reads every file below staticRoot and indexes it by URL path.
// The page is also reachable at "/".
func loadAssets(fsys fs.FS) (map[string]*asset, error) {
	assets := make(map[string]*asset)
	err := fs.WalkDir(fsys, staticRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("web: read %s: %w", p, err)
		}
		name := strings.TrimPrefix(p, staticRoot+"/")
		assets["/"+name] = newAsset(name, body)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: load embedded files: %w", err)
	}
	index, ok := assets["/"+indexName]
	if !ok {
		return nil, fmt.Errorf("web: %s is not embedded", indexName)
	}
	assets["/"] = index
	return assets, nil
}

// newAsset derives the headers of one file from its name and content.
func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	a := &asset{
		name:         name,
		body:         body,
		contentType:  contentTypeOf(name),
		cacheControl: cacheRevalidate,
		etag:         `"` + hex.EncodeToString(sum[:16]) + `"`,
		isPage:       path.Ext(name) == ".html",
	}
	if strings.HasPrefix(name, vendorDir) || path.Ext(name) == ".svg" {
		a.cacheControl = cacheDay
	}
	return a
}

// contentTypeOf picks the Content-Type for a file name; files without a known
// extension (such as LICENSE) are plain text.
func contentTypeOf(name string) string {
	if ct, ok := contentTypes[path.Ext(name)]; ok {
		return ct
	}
	return "text/plain; charset=utf-8"
}
