package embedded

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestConnectSrcCopiesOnlyPlainHosts(t *testing.T) {
	for host, want := range map[string]string{
		"chat.example:3000":          "connect-src 'self' ws://chat.example:3000 wss://chat.example:3000",
		"[::1]:80":                   "connect-src 'self' ws://[::1]:80 wss://[::1]:80",
		"evil.example; script-src *": "connect-src 'self'",
		"":                           "connect-src 'self'",
	} {
		if got := ConnectSrc(host); got != want {
			t.Errorf("ConnectSrc(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestHandlerServesWhatLoadDescribes(t *testing.T) {
	fsys := fstest.MapFS{
		"root/index.html": {Data: []byte("<p>hi</p>")},
		"root/app.js":     {Data: []byte("x()")},
	}
	files, err := Load(fsys, "root", "index.html", func(f *File) {
		f.ContentType, f.CacheControl = "type/"+f.Name, "cache "+f.Name
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(fsys, "root", "missing.html", func(*File) {}); err == nil {
		t.Fatal("Load without its index did not fail")
	}
	h := Handler(files, func(host string) string { return "policy for " + host })
	for path, want := range map[string]string{"/": "index.html", "/app.js": "app.js"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://h.example"+path, nil))
		hdr := w.Header()
		if w.Code != 200 || hdr.Get("Content-Type") != "type/"+want || hdr.Get("Cache-Control") != "cache "+want || !strings.HasPrefix(hdr.Get("ETag"), `"`) {
			t.Errorf("%s: %d %v", path, w.Code, hdr)
		}
		if page := strings.HasSuffix(want, ".html"); (hdr.Get("Content-Security-Policy") == "policy for h.example") != page {
			t.Errorf("%s: policy %q", path, hdr.Get("Content-Security-Policy"))
		}
	}
	for _, tc := range []struct {
		method, path string
		code         int
	}{{http.MethodGet, "/../root/app.js", 404}, {http.MethodGet, "/nope", 404}, {http.MethodPost, "/", 405}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, "http://h.example"+tc.path, nil))
		if w.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, w.Code, tc.code)
		}
	}
}
