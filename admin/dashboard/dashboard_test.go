package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", Handler()))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/admin/")
	if resp.StatusCode != 200 || !strings.Contains(body, "<title>Socket.IO Admin UI</title>") {
		t.Fatalf("/admin/: %d %.100q", resp.StatusCode, body)
	}
	if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "text/html; charset=utf-8" || cc != "no-cache" {
		t.Fatalf("/admin/: Content-Type %q, Cache-Control %q", ct, cc)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "connect-src 'self' ws://"+resp.Request.Host) {
		t.Fatalf("/admin/ policy: %q", csp)
	}
	resp, body = get("/admin/js/app.0d7d7845.js")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || len(body) < 1000 {
		t.Fatalf("app.js: %d %v", resp.StatusCode, resp.Header)
	}
	if resp.Header.Get("Content-Security-Policy") != "" {
		t.Fatal("a script carries the page's policy")
	}
	// The mux sends /admin to /admin/, where the page's relative paths work.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noRedirect.Get(ts.URL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode/100 != 3 || r.Header.Get("Location") != "/admin/" {
		t.Fatalf("/admin: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	for _, path := range []string{"/admin/nope.js", "/admin/js/app.0d7d7845.js.map", "/admin/../go.mod", "/admin/LICENSE"} {
		if resp, _ := get(path); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/admin/", nil)
	r, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", r.StatusCode)
	}
}
