package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// npmClient is the installed npm package the vendored files come from; the
// test runs in web/, so the repository root is "..".
const npmClient = "../node_modules/socket.io-client"

// vendoredClient is where vendor.sh copies it, inside the embedded files.
const vendoredClient = "static/vendor/socket.io-client"

// readInstalled reads a file of the repository's npm install, failing loudly
// when node_modules is missing.
func readInstalled(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.FromSlash(name))
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("web: %s is missing: run npm ci in the repository root", name)
	}
	if err != nil {
		t.Fatalf("web: read %s: %v", name, err)
	}
	return body
}

func TestVendoredClientMatchesNpm(t *testing.T) {
	for _, f := range []struct{ installed, vendored string }{
		{npmClient + "/dist/socket.io.esm.min.js", vendoredClient + "/socket.io.esm.min.js"},
		{npmClient + "/LICENSE", vendoredClient + "/LICENSE"},
	} {
		want := readInstalled(t, f.installed)
		got, err := staticFiles.ReadFile(f.vendored)
		if err != nil {
			t.Fatalf("web: %s is not embedded: %v (run web/vendor.sh)", f.vendored, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: run web/vendor.sh", f.vendored, f.installed)
		}
	}
}

func TestInstalledClientMatchesLock(t *testing.T) {
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(readInstalled(t, npmClient+"/package.json"), &pkg); err != nil {
		t.Fatalf("web: parse socket.io-client package.json: %v", err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(readInstalled(t, "../package-lock.json"), &lock); err != nil {
		t.Fatalf("web: parse package-lock.json: %v", err)
	}
	locked, ok := lock.Packages["node_modules/socket.io-client"]
	if !ok || locked.Version == "" {
		t.Fatal("web: package-lock.json does not pin socket.io-client")
	}
	if pkg.Version != locked.Version {
		t.Fatalf("installed socket.io-client %s, package-lock.json pins %s: run npm ci, then web/vendor.sh",
			pkg.Version, locked.Version)
	}
	// The bundle's banner names its version: a cheap cross-check of the copy itself.
	vendored, err := staticFiles.ReadFile(vendoredClient + "/socket.io.esm.min.js")
	if err != nil {
		t.Fatalf("web: vendored client is not embedded: %v", err)
	}
	if !bytes.Contains(vendored[:min(len(vendored), 200)], []byte("Socket.IO v"+locked.Version+"\n")) {
		t.Errorf("vendored client banner does not say Socket.IO v%s", locked.Version)
	}
}
