// Package nodetest runs Node.js scripts from Go tests: the official
// socket.io client and servers that Parley is checked against. The packages
// come from the repository's package-lock.json (npm ci at the repository
// root); a missing node binary or node_modules fails the test with the
// command that fixes it, never skips it.
package nodetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Root returns the repository root (the directory holding package.json),
// failing the test if it cannot be found.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("nodetest: no package.json above the test's directory")
		}
		dir = parent
	}
}

// Require fails the test unless node and the repository's npm packages are
// installed.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("nodetest: node is not installed (Debian: apt-get install nodejs npm); .ci/run installs it")
	}
	if _, err := os.Stat(filepath.Join(Root(t), "node_modules", "socket.io-client", "package.json")); err != nil {
		t.Fatal("nodetest: node_modules is missing: run `npm ci` in the repository root (make test does)")
	}
}

// Run runs `node script args...` and returns its combined output. It fails
// the test if node exits with an error or runs longer than timeout.
func Run(t testing.TB, timeout time.Duration, script string, args ...string) string {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("nodetest: node %s %v: %v\n%s", script, args, err, out.String())
	}
	return out.String()
}

// RequireChromium fails the test unless Chromium is installed (at
// $CHROMIUM, or Debian's /usr/bin/chromium), for the scripts that drive it
// through playwright-core.
func RequireChromium(t testing.TB) {
	t.Helper()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("nodetest: Chromium is not installed at %s (Debian: apt-get install chromium); make test installs it", chromium)
	}
}

// Artifacts returns where tests leave files for people to look at
// (screenshots): $ARTIFACTS_DIR, or artifacts/ at the repository root.
func Artifacts(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("ARTIFACTS_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(Root(t), "artifacts")
}

// Installed reads a file of the repository's npm install by its path from
// the repository root ("node_modules/...", "package-lock.json"), failing the
// test with the command that fixes a missing one.
func Installed(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(Root(t), filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("nodetest: %s is missing: run npm ci in the repository root", name)
	}
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	return body
}

// Versions returns the version of npm package pkg that is installed and
// the one package-lock.json pins ("" when it pins none).
func Versions(t testing.TB, pkg string) (installed, locked string) {
	t.Helper()
	var manifest struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(Installed(t, "node_modules/"+pkg+"/package.json"), &manifest); err != nil {
		t.Fatalf("nodetest: %s's package.json: %v", pkg, err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(Installed(t, "package-lock.json"), &lock); err != nil {
		t.Fatalf("nodetest: package-lock.json: %v", err)
	}
	return manifest.Version, lock.Packages["node_modules/"+pkg].Version
}

// FirstLine returns the first line a process writes to r (how the scripts
// say they are ready, and where), or ok false when r ends first or timeout
// passes. The rest of r is read and dropped, so that the process never
// blocks on a full pipe.
func FirstLine(r io.Reader, timeout time.Duration) (line string, ok bool) {
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(r)
		if s.Scan() {
			lines <- s.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case line, ok = <-lines:
		return line, ok
	case <-time.After(timeout):
		return "", false
	}
}
