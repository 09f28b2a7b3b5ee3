package clustertest

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a target it can switch: cutting its
// connections and pointing it at another node makes a client that dials the
// proxy reconnect to that node, as behind a load balancer whose backend
// died (the server side sees "transport close").
type Proxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// StartProxy listens on a free port and forwards to target (host:port or
// an http:// URL), until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: hostPort(target), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func hostPort(s string) string { return strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "ws://") }

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Hold cuts every connection and refuses new ones (accepts and closes them)
// until SwitchTo.
func (p *Proxy) Hold() { p.SwitchTo("") }

// SwitchTo cuts every connection and sends the next ones to target.
func (p *Proxy) SwitchTo(target string) {
	p.mu.Lock()
	p.target = hostPort(target)
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		if target == "" {
			_ = in.Close()
			continue
		}
		out, err := net.Dial("tcp", target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(in, out)
		go p.pump(out, in)
	}
}

func (p *Proxy) pump(src, dst net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = src.Close()
	_ = dst.Close()
}

func (p *Proxy) close() {
	_ = p.ln.Close()
	p.SwitchTo(p.target)
	p.wg.Wait()
}
