package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-chat/parley/internal/testrig/chattest"
	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// binary is the parley command built once for the tests that run it as a
// user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "parley")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building parley:", err)
		os.Exit(1)
	}
	code := 0
	func() {
		defer func() { _ = os.RemoveAll(dir) }()
		// goleak.VerifyTestMain would call os.Exit before the clean-up.
		code = m.Run()
		if code == 0 {
			if err := goleak.Find(goleak.IgnoreCurrent()); err != nil {
				fmt.Fprintln(os.Stderr, err)
				code = 1
			}
		}
	}()
	os.Exit(code)
}

func TestHelpListsEveryFlagWithItsVariable(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, &errOut); code != 0 {
		t.Fatalf("--help exit code %d, stderr %q", code, errOut.String())
	}
	for _, o := range options {
		if !strings.Contains(out.String(), "-"+o.name) || !strings.Contains(out.String(), o.env) {
			t.Errorf("--help does not list --%s with %s:\n%s", o.name, o.env, out.String())
		}
	}
}

func TestConfigFromFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"PARLEY_ADDR": ":4000", "PARLEY_CORS_ORIGINS": "http://a.example, http://b.example", "PARLEY_LOG_LEVEL": "debug"}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig([]string{"--max-message-length", "10"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != ":4000" || len(cfg.corsOrigins) != 2 || cfg.corsOrigins[1] != "http://b.example" ||
		cfg.logLevel.String() != "DEBUG" || cfg.maxMessageLength != 10 {
		t.Fatalf("config = %+v", cfg)
	}
	cfg, err = parseConfig([]string{"--addr", ":5000"}, getenv, io.Discard)
	if err != nil || cfg.addr != ":5000" {
		t.Fatalf("a flag must win over its variable: %+v, %v", cfg, err)
	}
	cfg, err = parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.addr != ":3000" || len(cfg.corsOrigins) != 1 || cfg.corsOrigins[0] != "http://localhost:8080" || cfg.maxMessageLength != 4096 ||
		cfg.adapter != "redis" || cfg.recovery || cfg.recoveryWindow != 2*time.Minute || cfg.redisCluster {
		t.Fatalf("defaults = %+v, %v", cfg, err)
	}
	cluster := map[string]string{"PARLEY_REDIS_URL": "redis://a:1?addr=b:2", "PARLEY_REDIS_CLUSTER": "on", "PARLEY_ADAPTER": "streams", "PARLEY_RECOVERY": "true", "PARLEY_RECOVERY_WINDOW": "30s"}
	cfg, err = parseConfig(nil, func(k string) string { return cluster[k] }, io.Discard)
	if err != nil || !cfg.redisCluster || cfg.adapter != "streams" || !cfg.recovery || cfg.recoveryWindow != 30*time.Second {
		t.Fatalf("cluster config = %+v, %v", cfg, err)
	}
	if _, err := parseConfig([]string{"--recovery", "on"}, func(string) string { return "" }, io.Discard); err != nil {
		t.Fatalf("recovery on one node: %v", err)
	}
}

func TestBadConfigurationIsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--max-message-length", "0"},
		{"--max-message-length", "lots"},
		{"--log-level", "loud"},
		{"--no-such-flag"},
		{"stray"},
		{"--adapter", "kafka"},
		{"--adapter", "streams"},
		{"--redis-cluster", "on"},
		{"--redis-url", "redis://127.0.0.1:1", "--recovery", "on"},
		{"--redis-url", "redis://127.0.0.1:1", "--adapter", "sharded", "--recovery", "on"},
		{"--recovery", "maybe"},
		{"--recovery-window", "0"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); code != 2 {
			t.Errorf("parley %v: exit code %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
}

// proc is a running parley process.
type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan error
}

// syncBuffer collects a process's output (exec copies it from another
// goroutine) while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startBinary runs the parley binary on a free port with extra args and
// environment, and waits until it serves /healthz.
func startBinary(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(binary, append([]string{"--addr", "127.0.0.1:" + port}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, url: "http://127.0.0.1:" + port, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("parley did not serve /healthz within 20 s:\n%s", p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func TestServesPageHealthAndSocketIO(t *testing.T) {
	p := startBinary(t, nil)
	for path, want := range map[string]string{"/": "<title>Parley</title>", "/healthz": `"status":"ok"`, "/readyz": `"status":"ready"`} {
		resp, err := http.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d %q, want 200 containing %q", path, resp.StatusCode, b, want)
		}
	}
	c := chattest.Dial(t, p.url, map[string]any{"username": "alice"}, chattest.Upgrade)
	c.Wait("users", nil)
}

// TestSIGTERMDisconnectsClientsAndExits checks the graceful shutdown: the
// listener closes, connected clients are told (they get a disconnect rather
// than a ping timeout), and the process exits 0 well within 10 s.
func TestSIGTERMDisconnectsClientsAndExits(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startBinary(t, []string{"PARLEY_LOG_LEVEL=debug"})
			ws := chattest.Dial(t, p.url, map[string]any{"username": "alice"}, chattest.WebSocket)
			poll := chattest.Dial(t, p.url, map[string]any{"username": "bob"}, chattest.Polling)
			ws.Wait("users", nil)
			poll.Wait("users", nil)
			sent := time.Now()
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-p.done:
				p.done <- err // for the clean-up
				if err != nil {
					t.Fatalf("exit after %v: %v\n%s", sig, err, p.logs.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10 s after %v:\n%s", sig, p.logs.String())
			}
			t.Logf("exited %v after the signal", time.Since(sent).Round(time.Millisecond))
			ws.Wait("disconnect", nil)
			poll.Wait("disconnect", nil)
			if _, err := http.Get(p.url + "/healthz"); err == nil {
				t.Fatal("still accepting connections after exiting")
			}
			if !strings.Contains(p.logs.String(), "shutting down") {
				t.Errorf("no shutdown log line:\n%s", p.logs.String())
			}
		})
	}
}

// TestLogsAreStructured checks that the binary logs with log/slog at the
// configured level.
func TestLogsAreStructured(t *testing.T) {
	p := startBinary(t, []string{"PARLEY_LOG_LEVEL=warn"})
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	p.done <- nil
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	for sc.Scan() {
		if line := sc.Text(); !strings.Contains(line, "level=WARN") && !strings.Contains(line, "level=ERROR") {
			t.Errorf("a line below the warn level was logged: %q", line)
		}
	}
}

// TestBrowser drives the real binary with Debian's Chromium through
// playwright-core (testdata/browser.mjs): two users chat, one reloads and
// keeps the session and history, one leaves and the other sees it. The
// screenshots go to artifacts/ at the repository root (or $ARTIFACTS_DIR).
func TestBrowser(t *testing.T) {
	nodetest.RequireChromium(t)
	artifacts := nodetest.Artifacts(t)
	p := startBinary(t, nil)
	out := nodetest.Run(t, 3*time.Minute, "testdata/browser.mjs", p.url, artifacts)
	if !strings.Contains(out, "PASS") {
		t.Fatalf("browser.mjs did not pass:\n%s", out)
	}
	for _, shot := range []string{"browser-alice.png", "browser-bob.png"} {
		if fi, err := os.Stat(filepath.Join(artifacts, shot)); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s missing: %v", shot, err)
		}
	}
}
