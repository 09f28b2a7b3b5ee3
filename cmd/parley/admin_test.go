package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/admin"
	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// adminPassword is the admin UI's password in these tests; adminHash its
// bcrypt hash (the lowest cost: the tests log in many times).
const adminPassword = "correct horse"

var adminHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(adminPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

// adminEnv turns the admin UI on with credentials, through the
// environment as a container would.
func adminEnv(extra ...string) []string {
	return append([]string{"PARLEY_ADMIN=on", "PARLEY_ADMIN_USERNAME=admin", "PARLEY_ADMIN_PASSWORD=" + adminHash}, extra...)
}

// runBinary runs the parley binary to its end and returns its exit code and
// output; a binary still running after 20 s fails the test.
func runBinary(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--addr", "127.0.0.1:" + freePort(t)}, args...)...)
	// Only env: a PARLEY_ variable of the machine's must not change the
	// outcome.
	cmd.Env = append([]string{}, env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("parley %v still running after 20 s:\n%s", args, out)
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	case err != nil:
		t.Fatalf("parley %v: %v", args, err)
	}
	return 0, string(out)
}

// TestAdminWithoutCredentialsIsRefused: an admin UI nobody could log in to,
// or anyone could without saying so, is a configuration error.
func TestAdminWithoutCredentialsIsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		env  []string
		args []string
	}{
		"flag":             {args: []string{"--admin", "on"}},
		"env":              {env: []string{"PARLEY_ADMIN=on"}},
		"username only":    {args: []string{"--admin", "on", "--admin-username", "admin"}},
		"password only":    {env: []string{"PARLEY_ADMIN=on", "PARLEY_ADMIN_PASSWORD=" + adminHash}},
		"auth on, written": {args: []string{"--admin", "on", "--admin-auth", "on"}},
	} {
		t.Run(name, func(t *testing.T) {
			code, out := runBinary(t, tc.env, tc.args...)
			if code != 2 || !strings.Contains(out, "--admin on needs credentials: set --admin-username and --admin-password (a bcrypt hash), or --admin-auth off") {
				t.Fatalf("exit code %d, output:\n%s\nwant 2 and the message asking for credentials", code, out)
			}
		})
	}
}

// TestAdminBadPasswordHashIsRefused: --admin-password takes a bcrypt hash;
// a password given in its place is refused without being printed.
func TestAdminBadPasswordHashIsRefused(t *testing.T) {
	for _, bad := range []string{adminPassword, "$2a$10$tooShort", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="} {
		code, out := runBinary(t, nil, "--admin", "on", "--admin-username", "admin", "--admin-password", bad)
		if code != 2 || !strings.Contains(out, "--admin-password: not a bcrypt hash") || !strings.Contains(out, "parley hash-password") {
			t.Errorf("--admin-password %q: exit code %d, output:\n%s\nwant 2 and the bcrypt message", bad, code, out)
		}
		if strings.Contains(out, bad) {
			t.Errorf("the refused value %q was printed:\n%s", bad, out)
		}
	}
	// Credentials and no authentication contradict each other.
	code, out := runBinary(t, adminEnv("PARLEY_ADMIN_AUTH=off"))
	if code != 2 || !strings.Contains(out, "--admin-auth off with --admin-username or --admin-password") {
		t.Errorf("credentials with --admin-auth off: exit code %d, output:\n%s", code, out)
	}
	code, out = runBinary(t, adminEnv("PARLEY_ADMIN_MODE=debug"))
	if code != 2 || !strings.Contains(out, "--admin-mode: want production or development") {
		t.Errorf("--admin-mode debug: exit code %d, output:\n%s", code, out)
	}
}

func TestAdminConfigFromFlagsAndEnvironment(t *testing.T) {
	none := func(string) string { return "" }
	cfg, err := parseConfig(nil, none, io.Discard)
	if err != nil || cfg.admin || !cfg.adminAuth || cfg.adminReadOnly || cfg.adminMode != admin.Production || cfg.adminHostedDashboard || cfg.adminConfig(nil) != nil {
		t.Fatalf("defaults = %+v, %v: want the admin UI off", cfg, err)
	}
	env := map[string]string{"PARLEY_ADMIN": "on", "PARLEY_ADMIN_USERNAME": "ops", "PARLEY_ADMIN_PASSWORD": adminHash + "\n",
		"PARLEY_ADMIN_READONLY": "on", "PARLEY_ADMIN_MODE": "development", "PARLEY_ADMIN_SERVER_ID": "eu-1", "PARLEY_ADMIN_HOSTED_DASHBOARD": "on"}
	cfg, err = parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.adminConfig(nil)
	if a == nil || a.Username != "ops" || a.PasswordHash != adminHash || a.NoAuth || !a.ReadOnly || a.Mode != admin.Development ||
		a.ServerID != "eu-1" || !a.HostedDashboard {
		t.Fatalf("admin config from the environment = %+v", a)
	}
	cfg, err = parseConfig([]string{"--admin-readonly", "off", "--admin-mode", "production"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || cfg.adminReadOnly || cfg.adminMode != admin.Production {
		t.Fatalf("flags must win over their variables: %+v, %v", cfg, err)
	}
	cfg, err = parseConfig([]string{"--admin", "on", "--admin-auth", "off"}, none, io.Discard)
	if a := cfg.adminConfig(nil); err != nil || a == nil || !a.NoAuth {
		t.Fatalf("--admin-auth off: %+v, %v", a, err)
	}
}

// TestHashPasswordMakesWhatAdminPasswordTakes checks the subcommand the
// README tells operators to make the hash with.
func TestHashPasswordMakesWhatAdminPasswordTakes(t *testing.T) {
	cmd := exec.Command(binary, "hash-password")
	cmd.Stdin = strings.NewReader(adminPassword + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parley hash-password: %v\n%s", err, stderr.String())
	}
	hash := strings.TrimSpace(string(out))
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(adminPassword)); err != nil {
		t.Fatalf("hash %q does not match the password: %v", hash, err)
	}
	if cost, _ := bcrypt.Cost([]byte(hash)); cost != bcrypt.DefaultCost {
		t.Fatalf("cost %d, want bcrypt's default %d", cost, bcrypt.DefaultCost)
	}
	empty := exec.Command(binary, "hash-password")
	empty.Stdin = strings.NewReader("")
	if out, err := empty.CombinedOutput(); err == nil || !strings.Contains(string(out), "no password on stdin") {
		t.Fatalf("an empty stdin: %v\n%s", err, out)
	}
}

// TestAdminAuthOffIsAWarning: --admin-auth off starts, warns, and lets a
// dashboard in without credentials.
func TestAdminAuthOffIsAWarning(t *testing.T) {
	p := startBinary(t, []string{"PARLEY_ADMIN=on", "PARLEY_ADMIN_AUTH=off"})
	out := nodetest.Run(t, time.Minute, "testdata/admin-dashboard.mjs", "open", p.url)
	if !strings.Contains(out, "PASS open") {
		t.Fatalf("admin-dashboard.mjs open:\n%s", out)
	}
	logs := p.logs.String()
	if !strings.Contains(logs, `level=WARN msg="parley: the admin UI has no authentication (--admin-auth off)`) {
		t.Fatalf("no warning about the admin UI without authentication:\n%s", logs)
	}
}

// TestAdminDashboardIsServed: the dashboard at /admin/ when the admin UI is
// on, and nothing there when it is off.
func TestAdminDashboardIsServed(t *testing.T) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	on := startBinary(t, adminEnv())
	resp, err := noRedirect.Get(on.url + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("GET /admin: %d to %q, want a redirect to /admin/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(on.url + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<title>Socket.IO Admin UI</title>") {
		t.Fatalf("GET /admin/: %d %.300q", resp.StatusCode, page)
	}
	if !strings.Contains(on.logs.String(), "parley: admin UI on") {
		t.Errorf("no log line saying the admin UI is on:\n%s", on.logs.String())
	}

	off := startBinary(t, nil)
	resp, err = http.Get(off.url + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if strings.Contains(string(page), "Socket.IO Admin UI") {
		t.Fatalf("the admin UI is off, yet /admin/ serves the dashboard")
	}
}

// TestAdminLoginWithNodeDashboard logs in to the binary's admin UI as the
// dashboard does, with the right and wrong passwords.
func TestAdminLoginWithNodeDashboard(t *testing.T) {
	p := startBinary(t, adminEnv("PARLEY_ADMIN_SERVER_ID=node-a"))
	out := nodetest.Run(t, time.Minute, "testdata/admin-dashboard.mjs", "login", p.url, "admin", adminPassword, "node-a")
	if !strings.Contains(out, "PASS login") {
		t.Fatalf("admin-dashboard.mjs login:\n%s", out)
	}
	// The graceful shutdown closes the admin UI too, cleanly.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the clean-up
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM:\n%s", p.logs.String())
	}
	if logs := p.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Fatalf("errors logged:\n%s", logs)
	}
}

// TestAdminClusterSharesSessionsAndStats runs two binaries on one Redis: a
// dashboard session made on node 1 holds on node 2, and one dashboard
// hears both nodes' stats.
func TestAdminClusterSharesSessionsAndStats(t *testing.T) {
	c := startCluster(t, 0)
	env := adminEnv("PARLEY_REDIS_URL="+c.redis.URL(), "PARLEY_PRESENCE_LEASE="+testLease.String())
	n1 := startBinary(t, append(env, "PARLEY_ADMIN_SERVER_ID=node-1"))
	n2 := startBinary(t, append(env, "PARLEY_ADMIN_SERVER_ID=node-2"))
	waitReady(t, n1)
	waitReady(t, n2)
	out := nodetest.Run(t, time.Minute, "testdata/admin-dashboard.mjs", "cluster", n1.url, n2.url, "admin", adminPassword, "node-1", "node-2")
	if !strings.Contains(out, "PASS cluster") {
		t.Fatalf("admin-dashboard.mjs cluster:\n%s", out)
	}
}

// TestAdminDashboardInChromiumOnTwoNodes drives the real dashboard, served
// by node 1 of a two-node cluster on one Redis, in Chromium
// (testdata/admin-browser.mjs): an operator logs in and sees both nodes,
// and the chat sockets and rooms of both. The screenshots go to artifacts/
// at the repository root (or $ARTIFACTS_DIR); admin-cluster-dashboard.png
// is the README's docs/admin-dashboard.png.
func TestAdminDashboardInChromiumOnTwoNodes(t *testing.T) {
	nodetest.RequireChromium(t)
	artifacts := nodetest.Artifacts(t)
	c := startCluster(t, 0)
	env := adminEnv("PARLEY_REDIS_URL="+c.redis.URL(), "PARLEY_PRESENCE_LEASE="+testLease.String(), "PARLEY_ADMIN_MODE=development")
	n1 := startBinary(t, append(env, "PARLEY_ADMIN_SERVER_ID=parley-1"))
	n2 := startBinary(t, append(env, "PARLEY_ADMIN_SERVER_ID=parley-2"))
	waitReady(t, n1)
	waitReady(t, n2)
	out := nodetest.Run(t, 3*time.Minute, "testdata/admin-browser.mjs", n1.url, n2.url, artifacts, "admin", adminPassword, "parley-1", "parley-2")
	if !strings.Contains(out, "PASS") {
		t.Fatalf("admin-browser.mjs did not pass:\n%s", out)
	}
	for _, shot := range []string{"admin-cluster-servers.png", "admin-cluster-sockets.png", "admin-cluster-dashboard.png"} {
		if fi, err := os.Stat(filepath.Join(artifacts, shot)); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s missing: %v", shot, err)
		}
	}
}
