package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// command is what the orchestrator asks a client process to do; one JSON
// line per command, one reply line each.
type command struct {
	Op       string   `json:"op"` // connect, reset, stats, echo, close
	URL      string   `json:"url,omitempty"`
	N        int      `json:"n,omitempty"`
	Rate     float64  `json:"rate,omitempty"`
	IPs      []string `json:"ips,omitempty"`
	Clients  int      `json:"clients,omitempty"`
	Duration float64  `json:"duration,omitempty"` // seconds
	Warmup   float64  `json:"warmup,omitempty"`
	Size     int      `json:"size,omitempty"`
}

type reply struct {
	OK       int     `json:"ok"`
	Failed   int     `json:"failed"`
	Err      string  `json:"err,omitempty"`
	Received int64   `json:"received"`
	Dropped  int64   `json:"dropped"`
	Acks     int64   `json:"acks"`
	Hist     []int64 `json:"hist,omitempty"`
}

// clientProc holds one process's connections.
type clientProc struct {
	mu       sync.Mutex
	conns    []*conn
	received atomic.Int64
	dropped  atomic.Int64
	acks     atomic.Int64
	lat      hist
	wg       sync.WaitGroup
}

// runClients is the "clients" subcommand: it serves commands on stdin.
func runClients(in io.Reader, out io.Writer) error {
	p := &clientProc{}
	dec := json.NewDecoder(bufio.NewReader(in))
	enc := json.NewEncoder(out)
	for {
		var cmd command
		if err := dec.Decode(&cmd); err != nil {
			p.closeAll()
			if err == io.EOF {
				return nil
			}
			return err
		}
		var r reply
		switch cmd.Op {
		case "connect":
			r = p.connect(cmd)
		case "reset":
			p.received.Store(0)
			p.acks.Store(0)
			p.lat.reset()
		case "stats":
			r = reply{Received: p.received.Load(), Dropped: p.dropped.Load(), Acks: p.acks.Load(), Hist: p.lat.snapshot()}
		case "echo":
			r = p.echo(cmd)
		case "close":
			p.closeAll()
			return enc.Encode(reply{Dropped: p.dropped.Load()})
		default:
			r.Err = "unknown op " + cmd.Op
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
}

// connect opens cmd.N connections at cmd.Rate per second, spread over the
// source addresses, and waits for every attempt.
func (p *clientProc) connect(cmd command) reply {
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cmd.N {
		if d := time.Until(start.Add(time.Duration(float64(i) / cmd.Rate * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
		ip := net.ParseIP(cmd.IPs[i%len(cmd.IPs)])
		wg.Add(1)
		go func() {
			c, err := dial(cmd.URL, ip, 15*time.Second)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				wg.Done()
				return
			}
			c.onEvent = p.onBroadcast
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			ok.Add(1)
			wg.Done()
			p.wg.Add(1)
			defer p.wg.Done()
			if c.run() {
				p.dropped.Add(1)
			}
		}()
	}
	wg.Wait()
	r := reply{OK: int(ok.Load()), Failed: int(failed.Load())}
	if e, _ := firstErr.Load().(string); e != "" {
		r.Err = e
	}
	return r
}

// onBroadcast counts a "bcast" event and its latency.
func (p *clientProc) onBroadcast(_ *conn, pkt []byte) {
	if !bytes.HasPrefix(pkt, []byte(`2["bcast"`)) {
		return
	}
	if t, ok := stampOf(pkt); ok {
		p.lat.add(float64(time.Now().UnixNano()-t) / 1e3)
	}
	p.received.Add(1)
}

// echo runs closed-loop acked "echo" events on the first cmd.Clients
// connections and counts the acks after the warm-up.
func (p *clientProc) echo(cmd command) reply {
	p.mu.Lock()
	conns := p.conns[:min(cmd.Clients, len(p.conns))]
	p.mu.Unlock()
	pad := bytes.Repeat([]byte("x"), max(cmd.Size-40, 1))
	measureFrom := time.Now().Add(time.Duration(cmd.Warmup * float64(time.Second)))
	stopAt := measureFrom.Add(time.Duration(cmd.Duration * float64(time.Second)))
	var stopped atomic.Bool
	send := func(c *conn, id int) {
		msg := fmt.Appendf(nil, `42%d["echo",{"t":%d,"p":"%s"}]`, id, time.Now().UnixNano(), pad)
		_ = c.writeText(msg)
	}
	for _, c := range conns {
		id := 0
		c.onEvent = func(c *conn, pkt []byte) {
			if pkt[0] != '3' || stopped.Load() {
				return
			}
			now := time.Now()
			if now.After(measureFrom) {
				if t, ok := stampOf(pkt); ok {
					p.lat.add(float64(now.UnixNano()-t) / 1e3)
				}
				p.acks.Add(1)
			}
			id++
			send(c, id)
		}
	}
	for _, c := range conns {
		send(c, 0)
	}
	time.Sleep(time.Until(stopAt))
	stopped.Store(true)
	r := reply{OK: len(conns), Acks: p.acks.Load(), Hist: p.lat.snapshot()}
	return r
}

func (p *clientProc) closeAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
}

// clientsMain runs the subcommand on the process's standard streams.
func clientsMain() int {
	if err := runClients(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "parley-bench clients:", err)
		return 1
	}
	return 0
}
