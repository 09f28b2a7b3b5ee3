package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// haproxy is an HAProxy process running deploy/haproxy.cfg in front of a
// cluster's nodes.
type haproxy struct {
	url  string
	logs *syncBuffer
}

// startHAProxy runs Debian's haproxy with the repository's configuration,
// the nodes of c as its three servers.
func startHAProxy(t *testing.T, c *cluster) *haproxy {
	t.Helper()
	if len(c.nodes) != 3 {
		t.Fatalf("deploy/haproxy.cfg has three servers; the cluster has %d nodes", len(c.nodes))
	}
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal("haproxy is not installed (Debian: apt-get install haproxy); make test installs it")
	}
	cfg := filepath.Join(nodetest.Root(t), "deploy", "haproxy.cfg")
	port := freePort(t)
	cmd := exec.Command(bin, "-db", "-f", cfg)
	cmd.Env = append(os.Environ(),
		"LB_BIND=127.0.0.1:"+port,
		"LB_STATS_BIND=127.0.0.1:"+freePort(t),
		"PARLEY1="+strings.TrimPrefix(c.nodes[0].url, "http://"),
		"PARLEY2="+strings.TrimPrefix(c.nodes[1].url, "http://"),
		"PARLEY3="+strings.TrimPrefix(c.nodes[2].url, "http://"),
	)
	h := &haproxy{url: "http://127.0.0.1:" + port, logs: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("haproxy log:\n%s", h.logs.String())
		}
	})
	// Ready once every server passes its /readyz check.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if up := h.serversUp(); up == 3 {
			return h
		}
		select {
		case <-done:
			t.Fatalf("haproxy exited:\n%s", h.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not see three ready nodes within 20 s:\n%s", h.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serversUp counts the distinct nodes answering through the balancer: each
// fresh request (no cookie) goes round robin, and its response sets the
// sticky cookie naming the node.
func (h *haproxy) serversUp() int {
	seen := map[string]bool{}
	for range 6 {
		resp, err := http.Get(h.url + "/readyz")
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == "PARLEY_NODE" && resp.StatusCode == http.StatusOK {
				seen[c.Value] = true
			}
		}
	}
	return len(seen)
}

// TestBrowsersBehindHAProxy is the end-to-end test of a cluster as deployed:
// Redis, three Parley nodes and HAProxy with cookie stickiness
// (deploy/haproxy.cfg, as docker-compose.yml runs it), and two Chromium
// users with the default transports (long polling, then the upgrade to
// WebSocket) on different nodes, chatting, reloading and leaving.
func TestBrowsersBehindHAProxy(t *testing.T) {
	nodetest.RequireChromium(t)
	c := startCluster(t, 3)
	lb := startHAProxy(t, c)
	out := nodetest.Run(t, 3*time.Minute, "testdata/browser.mjs", lb.url, nodetest.Artifacts(t), "PARLEY_NODE")
	if !strings.Contains(out, "PASS") || !strings.Contains(out, "NODES ") {
		t.Fatalf("browser.mjs through haproxy did not pass:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
}

// TestComposeFileIsValid checks docker-compose.yml with Debian's
// docker-compose (no Docker engine runs here, so it is not started).
func TestComposeFileIsValid(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is not installed (Debian: apt-get install docker-compose); make test installs it")
	}
	cmd := exec.Command(bin, "-f", filepath.Join(nodetest.Root(t), "docker-compose.yml"), "config")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	for _, want := range []string{"redis:", "parley1:", "parley2:", "parley3:", "lb:", "PARLEY_REDIS_URL", "haproxy.cfg"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the resolved compose file lacks %q", want)
		}
	}
}
