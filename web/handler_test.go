package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serve runs one request through a fresh Handler.
func serve(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = "chat.example:3000"
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec
}

func TestIndexServedWithPolicyAndNoCache(t *testing.T) {
	for _, target := range []string{"/", "/index.html"} {
		rec := serve(t, http.MethodGet, target, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", target, rec.Code)
		}
		h := rec.Header()
		if got := h.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", target, got)
		}
		if got := h.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", target, got)
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{
			"default-src 'none'",
			"script-src 'self';",
			"connect-src 'self' ws://chat.example:3000 wss://chat.example:3000",
		} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP %q allows inline code", target, csp)
		}
		if body := rec.Body.String(); !strings.Contains(body, `<script type="module" src="app.js">`) {
			t.Errorf("GET %s: body does not load app.js as a module", target)
		}
	}
}

func TestPolicyDropsUnsafeHost(t *testing.T) {
	csp := pagePolicy("evil.example; script-src *")
	if strings.Contains(csp, "evil") {
		t.Fatalf("pagePolicy copied an unsafe Host header: %q", csp)
	}
	if !strings.Contains(csp, "connect-src 'self';") {
		t.Fatalf("pagePolicy without host: %q", csp)
	}
}

func TestScriptsServedAsJavaScript(t *testing.T) {
	cases := []struct {
		path, cache, contains string
	}{
		{"/app.js", "no-cache", "io({ autoConnect: false })"},
		{"/vendor/socket.io-client/socket.io.esm.min.js", "public, max-age=86400", "Socket.IO v"},
	}
	for _, c := range cases {
		rec := serve(t, http.MethodGet, c.path, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", c.path, rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q, want JavaScript", c.path, got)
		}
		if got := rec.Header().Get("Cache-Control"); got != c.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", c.path, got, c.cache)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", c.path, got)
		}
		if rec.Header().Get("Content-Security-Policy") != "" {
			t.Errorf("GET %s: unexpected CSP on a script", c.path)
		}
		if !strings.Contains(rec.Body.String(), c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
	}
}

func TestOtherContentTypes(t *testing.T) {
	cases := map[string]string{
		"/style.css":                       "text/css; charset=utf-8",
		"/favicon.svg":                     "image/svg+xml",
		"/vendor/socket.io-client/LICENSE": "text/plain; charset=utf-8",
	}
	for path, want := range cases {
		rec := serve(t, http.MethodGet, path, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", path, rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, want)
		}
	}
}

func TestUnknownPathsNotFound(t *testing.T) {
	for _, path := range []string{
		"/nope", "/static/app.js", "/vendor/", "/vendor/socket.io-client/",
		"/../web/handler.go", "/app.js/", "/socket.io/",
	} {
		if rec := serve(t, http.MethodGet, path, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
	}
}

func TestOnlyGetAndHead(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		rec := serve(t, method, "/", nil)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s /: status %d, want 405", method, rec.Code)
		}
		if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
			t.Errorf("%s /: Allow %q", method, got)
		}
	}
}

func TestHeadHasHeadersButNoBody(t *testing.T) {
	rec := serve(t, http.MethodHead, "/app.js", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("HEAD /app.js: status %d", rec.Code)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("HEAD /app.js: %d body bytes", rec.Body.Len())
	}
	if rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("HEAD /app.js: Content-Type %q", rec.Header().Get("Content-Type"))
	}
}

func TestETagRevalidation(t *testing.T) {
	first := serve(t, http.MethodGet, "/", nil)
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("GET /: no ETag")
	}
	again := serve(t, http.MethodGet, "/", http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified {
		t.Fatalf("GET / with If-None-Match: status %d, want 304", again.Code)
	}
}
