package dashboard

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// installed is the npm package the vendored files come from, from the
// repository root.
const installed = "node_modules/@socket.io/admin-ui"

// pinned is the version of @socket.io/admin-ui whose protocol package admin
// speaks: the vendored dashboard must be that one's.
const pinned = "0.5.1"

// TestVendoredFilesMatchNpm checks the copy file by file, both ways: every
// file of the package's ui/dist but the source maps is vendored unchanged,
// and nothing else is.
func TestVendoredFilesMatchNpm(t *testing.T) {
	var want []string
	nodetest.Installed(t, installed+"/package.json")
	root := filepath.Join(nodetest.Root(t), filepath.FromSlash(installed))
	err := filepath.WalkDir(filepath.Join(root, "ui", "dist"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".map") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		want = append(want, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, "LICENSE")
	var got []string
	err = fs.WalkDir(files, "admin-ui", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, strings.TrimPrefix(p, "admin-ui/"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("vendored files %q, the package has %q: run admin/dashboard/vendor.sh", got, want)
	}
	for _, name := range want {
		vendored, _ := files.ReadFile("admin-ui/" + name)
		if !bytes.Equal(vendored, nodetest.Installed(t, installed+"/"+name)) {
			t.Errorf("admin-ui/%s differs from the npm package's: run admin/dashboard/vendor.sh", name)
		}
	}
}

// TestInstalledPackageIsPinned checks that package-lock.json pins the
// version the admin package speaks, and that it is the one installed.
func TestInstalledPackageIsPinned(t *testing.T) {
	version, locked := nodetest.Versions(t, "@socket.io/admin-ui")
	if locked != pinned {
		t.Fatalf("package-lock.json pins @socket.io/admin-ui %q, want %s", locked, pinned)
	}
	if version != locked {
		t.Fatalf("installed @socket.io/admin-ui %s, package-lock.json pins %s: run npm ci, then admin/dashboard/vendor.sh", version, locked)
	}
}
