package web

import (
	"bytes"
	"testing"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// npmClient is the installed npm package the vendored files come from,
// from the repository root.
const npmClient = "node_modules/socket.io-client"

// vendoredClient is where vendor.sh copies it, inside the embedded files.
const vendoredClient = "static/vendor/socket.io-client"

func TestVendoredClientMatchesNpm(t *testing.T) {
	for _, f := range []struct{ installed, vendored string }{
		{npmClient + "/dist/socket.io.esm.min.js", vendoredClient + "/socket.io.esm.min.js"},
		{npmClient + "/LICENSE", vendoredClient + "/LICENSE"},
	} {
		want := nodetest.Installed(t, f.installed)
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
	installed, locked := nodetest.Versions(t, "socket.io-client")
	if locked == "" {
		t.Fatal("web: package-lock.json does not pin socket.io-client")
	}
	if installed != locked {
		t.Fatalf("installed socket.io-client %s, package-lock.json pins %s: run npm ci, then web/vendor.sh", installed, locked)
	}
	// The bundle's banner names its version: a cheap cross-check of the copy itself.
	vendored, err := staticFiles.ReadFile(vendoredClient + "/socket.io.esm.min.js")
	if err != nil {
		t.Fatalf("web: vendored client is not embedded: %v", err)
	}
	if !bytes.Contains(vendored[:min(len(vendored), 200)], []byte("Socket.IO v"+locked+"\n")) {
		t.Errorf("vendored client banner does not say Socket.IO v%s", locked)
	}
}
