// Package embedded serves a directory of files embedded in the binary (the
// chat page, the admin dashboard): each file read once, with its content
// type, cache policy and a content hash as ETag, looked up by URL path in a
// map (so "..", encoded slashes and the like simply miss), and HTML pages
// sent with a Content-Security-Policy of the caller's.
package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// File is one embedded file, ready to serve.
type File struct {
	Name         string // path below the root, also what http.ServeContent sees
	Body         []byte
	ContentType  string
	CacheControl string
	ETag         string
}

// Page reports whether the file is an HTML document (it gets the security
// headers).
func (f *File) Page() bool { return path.Ext(f.Name) == ".html" }

// Load reads every file below root in fsys and indexes it by URL path
// ("/" + its name below root); index is also served at "/". describe sets
// each file's ContentType and CacheControl from its name.
func Load(fsys fs.FS, root, index string, describe func(f *File)) (map[string]*File, error) {
	files := make(map[string]*File)
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		f := &File{Name: strings.TrimPrefix(p, root+"/"), Body: body, ETag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		describe(f)
		files["/"+f.Name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load the embedded files: %w", err)
	}
	page, ok := files["/"+index]
	if !ok {
		return nil, fmt.Errorf("%s/%s is not embedded", root, index)
	}
	files["/"] = page
	return files, nil
}

// Handler serves files: GET and HEAD only (405 otherwise), 404 for unknown
// paths; pages get policy(host) as their Content-Security-Policy and no
// referrer. http.ServeContent answers HEAD, If-None-Match (304) and Range.
func Handler(files map[string]*File, policy func(host string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		hdr := w.Header()
		hdr.Set("Content-Type", f.ContentType)
		hdr.Set("Cache-Control", f.CacheControl)
		hdr.Set("ETag", f.ETag)
		hdr.Set("X-Content-Type-Options", "nosniff")
		if f.Page() {
			hdr.Set("Content-Security-Policy", policy(r.Host))
			hdr.Set("Referrer-Policy", "no-referrer")
		}
		http.ServeContent(w, r, f.Name, time.Time{}, bytes.NewReader(f.Body))
	})
}

// ConnectSrc is a policy's connect-src for a page that talks to its own
// origin only. The ws:// and wss:// forms of the host are listed because
// older browsers do not let 'self' cover WebSocket URLs; a Host header that
// is not a plain host (and port) is left out rather than copied in.
func ConnectSrc(host string) string {
	connect := "connect-src 'self'"
	if safeHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return connect
}

// safeHost reports whether a Host header can go into a policy as it is: a
// host name or IP literal with an optional port, nothing that could end a
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
