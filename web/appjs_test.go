package web

import (
	"regexp"
	"strings"
	"testing"
)

// htmlSinks matches the DOM APIs that parse a string as HTML. The page must
// only put user data into the DOM as text (see the SECURITY note in app.js).
var htmlSinks = regexp.MustCompile(`(?:inner|outer)HTML\s*\+?=(?:[^=]|$)|insertAdjacentHTML\s*\(|document\.write(?:ln)?\s*\(`)

func TestAppNeverParsesHTML(t *testing.T) {
	src, err := staticFiles.ReadFile("static/app.js")
	if err != nil {
		t.Fatalf("web: read app.js: %v", err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if htmlSinks.MatchString(line) {
			t.Errorf("app.js:%d assigns or writes HTML: %s", i+1, strings.TrimSpace(line))
		}
	}
}

func TestHTMLSinkPattern(t *testing.T) {
	for _, bad := range []string{`el.innerHTML = x`, `el.innerHTML+=x`, `el.outerHTML= y`, `el.insertAdjacentHTML("beforeend", s)`, `document.write(s)`} {
		if !htmlSinks.MatchString(bad) {
			t.Errorf("pattern misses %q", bad)
		}
	}
	for _, ok := range []string{`// never innerHTML here`, `if (a.innerHTML === b)`, `el.textContent = x`} {
		if htmlSinks.MatchString(ok) {
			t.Errorf("pattern flags harmless %q", ok)
		}
	}
}

func TestIndexHasNoInlineScript(t *testing.T) {
	src, err := staticFiles.ReadFile("static/index.html")
	if err != nil {
		t.Fatalf("web: read index.html: %v", err)
	}
	// Every <script> must load a file: the CSP would block inline code anyway.
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(string(src), -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("index.html has an inline script: %s", tag)
		}
	}
	if regexp.MustCompile(`\son[a-z]+\s*=`).Match(src) {
		t.Error("index.html has an inline event handler attribute")
	}
}
