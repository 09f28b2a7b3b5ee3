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
	Op       string   `json:"op"` // connect, pconnect, reset, stats, echo, pecho, close
	URL      string   `json:"url,omitempty"`
	N        int      `json:"n,omitempty"`
	Rate     float64  `json:"rate,omitempty"` // connections per second; 0: no pacing
	IPs      []string `json:"ips,omitempty"`
	Clients  int      `json:"clients,omitempty"`
	Duration float64  `json:"duration,omitempty"` // seconds
	Warmup   float64  `json:"warmup,omitempty"`
	Size     int      `json:"size,omitempty"`
	// Concurrency bounds the handshakes in progress (0: no bound).
	Concurrency int     `json:"concurrency,omitempty"`
	Timeout     float64 `json:"timeout,omitempty"` // seconds per handshake; 0: 15
}

type reply struct {
	OK       int     `json:"ok"`
	Failed   int     `json:"failed"`
	Refused  int     `json:"refused,omitempty"`
	Err      string  `json:"err,omitempty"`
	Received int64   `json:"received"`
	Dropped  int64   `json:"dropped"`
	Acks     int64   `json:"acks"`
	Hist     []int64 `json:"hist,omitempty"`
	// BHist holds the broadcast latencies of the polling scenario (Hist
	// holds its echo latencies).
	BHist []int64 `json:"bhist,omitempty"`
	// Errors counts the failed handshakes by reason.
	Errors  map[string]int `json:"errors,omitempty"`
	Elapsed float64        `json:"elapsed,omitempty"` // seconds of a connect
	// Reopened counts the polling clients' keep-alive connections opened
	// again after the server closed them.
	Reopened int64 `json:"reopened,omitempty"`
}

// clientProc holds one process's connections.
type clientProc struct {
	mu       sync.Mutex
	conns    []*conn
	pollers  []*pollClient
	received atomic.Int64
	dropped  atomic.Int64
	acks     atomic.Int64
	lat      hist
	blat     hist
	// pecho is the polling echo in progress, nil before it starts.
	pecho atomic.Pointer[pollEcho]
	wg    sync.WaitGroup
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
			r = p.connect(cmd, p.openWebSocket)
		case "pconnect":
			r = p.connect(cmd, p.openPolling)
		case "reset":
			p.received.Store(0)
			p.acks.Store(0)
			p.lat.reset()
			p.blat.reset()
		case "stats":
			r = p.stats()
		case "echo":
			r = p.echo(cmd)
		case "pecho":
			r = p.pollingEcho(cmd)
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

// opener opens one client from the source address src; run then serves it
// until it ends, and reports whether the server ended it.
type opener func(url string, src net.IP, timeout time.Duration) (run func() (dropped bool), err error)

// connect opens cmd.N clients with open, spread over the source addresses,
// at cmd.Rate per second (or as fast as cmd.Concurrency handshakes in
// progress allow), and waits for every attempt. Each client then runs in
// the goroutine that opened it. The reply's Hist holds the times of the
// handshakes that succeeded.
func (p *clientProc) connect(cmd command, open opener) reply {
	var mu sync.Mutex
	r := reply{Errors: map[string]int{}}
	var wg sync.WaitGroup
	var took hist
	var sem chan struct{}
	if cmd.Concurrency > 0 {
		sem = make(chan struct{}, cmd.Concurrency)
	}
	timeout := 15 * time.Second
	if cmd.Timeout > 0 {
		timeout = time.Duration(cmd.Timeout * float64(time.Second))
	}
	start := time.Now()
	for i := range cmd.N {
		if cmd.Rate > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(float64(i) / cmd.Rate * float64(time.Second)))))
		}
		if sem != nil {
			sem <- struct{}{}
		}
		ip := net.ParseIP(cmd.IPs[i%len(cmd.IPs)])
		wg.Add(1)
		go func() {
			t0 := time.Now()
			run, err := open(cmd.URL, ip, timeout)
			if err == nil {
				took.add(float64(time.Since(t0).Microseconds()))
			}
			if sem != nil {
				<-sem
			}
			mu.Lock()
			if err != nil {
				r.count(err)
			} else {
				r.OK++
				p.wg.Add(1) // before wg.Done, so that closeAll waits for it
			}
			mu.Unlock()
			wg.Done()
			if err == nil {
				defer p.wg.Done()
				if run() {
					p.dropped.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(start).Seconds()
	r.Hist = took.snapshot()
	return r
}

// count records a failed handshake.
func (r *reply) count(err error) {
	r.Failed++
	if isRefusal(err) {
		r.Refused++
	}
	r.Errors[failReason(err)]++
	if r.Err == "" {
		r.Err = err.Error()
	}
}

// openWebSocket opens a WebSocket client that counts broadcasts.
func (p *clientProc) openWebSocket(url string, ip net.IP, timeout time.Duration) (func() bool, error) {
	c, err := dial(url, ip, timeout)
	if err != nil {
		return nil, err
	}
	c.onEvent = p.onBroadcast
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	return c.run, nil
}

func (p *clientProc) stats() reply {
	r := reply{Received: p.received.Load(), Dropped: p.dropped.Load(), Acks: p.acks.Load(), Hist: p.lat.snapshot()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pollers) > 0 {
		r.BHist = p.blat.snapshot()
		for _, c := range p.pollers {
			r.Reopened += c.reopened()
		}
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
	conns, pollers := p.conns, p.pollers
	p.conns, p.pollers = nil, nil
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	for _, c := range pollers {
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
