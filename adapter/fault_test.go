package adapter_test

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// TestRedisRestart kills redis-server under a two-node cluster and restarts
// it on the same port: while it is down the nodes report not ready, local
// delivery goes on and failed publishes are counted; once it is back,
// broadcasts flow again within 5 s, the nodes are ready, each counted one
// reconnect, and no goroutine is left behind.
func TestRedisRestart(t *testing.T) {
	r := redistest.Start(t)
	nodes := startGoNodes(t, func() redis.UniversalClient { return r.Client(t) }, "A", "B")
	a, b := nodes[0], nodes[1]
	ca := ct.Dial(t, a.URL(), "/", "A-x1")
	cb := ct.Dial(t, b.URL(), "/", "B-x1")
	a.Emit(t, "/", ct.Target{}, "ev", "before")
	cb.Wait(t, "ev", ct.WithArg("before"))
	baseline := settledGoroutines()

	r.Kill()
	waitLoss(t, nodes...)
	a.Emit(t, "/", ct.Target{}, "ev", "during")
	ca.Wait(t, "ev", ct.WithArg("during")) // local delivery does not need Redis
	ct.Eventually(t, "failed publishes counted", func() error {
		if n := counter(t, a.Registry, "parley_adapter_publish_errors_total"); n == 0 {
			return errNotYet
		}
		return nil
	})
	if _, err := a.FetchSockets(t, "/", ct.Target{}); err == nil {
		t.Errorf("fetchSockets while Redis is down: no error")
	}

	r.Restart()
	restarted := time.Now()
	for i := 0; ; i++ {
		tag := fmt.Sprintf("after-%d", i)
		a.Emit(t, "/", ct.Target{}, "ev", tag)
		if _, ok := cb.WaitFor("ev", ct.WithArg(tag), 100*time.Millisecond); ok {
			break
		}
		if time.Since(restarted) > 5*time.Second {
			t.Fatalf("no broadcast reached the other node within 5s of the restart")
		}
	}
	t.Logf("broadcasts flow again %v after the restart", time.Since(restarted).Round(time.Millisecond))
	ct.WaitReady(t, nodes...)
	for _, n := range nodes {
		if got := counter(t, n.Registry, "parley_adapter_redis_reconnects_total"); got != 1 {
			t.Errorf("%s: reconnects = %v, want 1", n.Name(), got)
		}
		if got := counter(t, n.Registry, "parley_adapter_subscribed"); got != 1 {
			t.Errorf("%s: subscribed = %v, want 1", n.Name(), got)
		}
	}
	if n := a.ServerCount(t, "/"); n != 2 {
		t.Errorf("server count after the restart = %d, want 2", n)
	}
	ct.Eventually(t, "no goroutine growth", func() error {
		if n := runtime.NumGoroutine(); n > baseline {
			return fmt.Errorf("%d goroutines, %d before the outage:\n%s", n, baseline, goroutineDump())
		}
		return nil
	})
}

// waitLoss waits until every node reports not ready (it lost Redis).
func waitLoss(t *testing.T, nodes ...*ct.GoNode) {
	t.Helper()
	ct.Eventually(t, "nodes see the loss", func() error {
		for _, n := range nodes {
			if n.Node.Ready() == nil {
				return fmt.Errorf("%s still ready", n.Name())
			}
		}
		return nil
	})
}

// settledGoroutines returns the goroutine count once it stopped changing
// (short-lived goroutines of the previous steps have ended).
func settledGoroutines() int {
	last := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last {
			return n
		}
		last = n
	}
	return last
}

func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// counter reads a metric's value (summed over its labels).
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}

// TestHalfOpenSubscription freezes the network between a node and Redis
// without closing anything, as a dead link or a stuck proxy does: the
// health check finds the subscription silent, the node reports not ready,
// and it recovers when the network does.
func TestHalfOpenSubscription(t *testing.T) {
	r := redistest.Start(t)
	proxy := startProxy(t, r.Addr())
	rdb := redis.NewClient(&redis.Options{Addr: proxy.addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	const interval = 150 * time.Millisecond
	n := ct.StartGoNode(t, "A", rdb, ct.GoNodeOptions{Config: adapter.Config{HealthCheckInterval: interval}})
	ct.WaitReady(t, n)

	proxy.freeze()
	frozen := time.Now()
	ct.Eventually(t, "the silent subscription is noticed", func() error {
		if n.Node.Ready() == nil {
			return errNotYet
		}
		return nil
	})
	if err := n.Node.Ready(); !strings.Contains(err.Error(), "PING") {
		t.Errorf("Ready() = %v, want the health check's reason", err)
	}
	t.Logf("noticed %v after the freeze (health check every %v)", time.Since(frozen).Round(time.Millisecond), interval)
	proxy.thaw()
	ct.WaitReady(t, n)
	if got := counter(t, n.Registry, "parley_adapter_redis_reconnects_total"); got != 1 {
		t.Errorf("reconnects = %v, want 1", got)
	}
}

// proxy forwards TCP connections to a server and can freeze them: while
// frozen, bytes are held, not lost, and no connection is closed, so each end
// sees silence and no error.
type proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	frozen bool
	thawed *sync.Cond
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.thawed = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(in, out)
		go p.pump(out, in)
	}
}

// pump copies src to dst, holding what it read while the proxy is frozen.
func (p *proxy) pump(src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.frozen {
				p.thawed.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil { // EOF, reset or closed: the other side goes too
			_ = src.Close()
			_ = dst.Close()
			return
		}
	}
}

func (p *proxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

func (p *proxy) thaw() {
	p.mu.Lock()
	p.frozen = false
	p.thawed.Broadcast()
	p.mu.Unlock()
}

func (p *proxy) close() {
	_ = p.ln.Close()
	p.thaw()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
