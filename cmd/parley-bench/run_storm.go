package main

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stormRun opens o.stormConns WebSocket connections as fast as the client
// processes can (o.stormConc handshakes in progress each, no rate limit)
// and reports what the server took, how fast, why the rest failed, and
// what the kernel's listen queues saw.
func stormRun(o *options, sys string, note func(string)) ([]figure, error) {
	srv, err := startServer(sys, o)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	ws, err := startWorkers(max(2, (o.stormConns+8999)/9000))
	if err != nil {
		return nil, err
	}
	defer stopWorkers(ws)
	time.Sleep(time.Second)
	note(kernelLimits())
	base, err := procRSS(srv.pid())
	if err != nil {
		return nil, err
	}
	_, backlog, err := listenBacklog(srv.port())
	if err != nil {
		note(err.Error())
	}
	before, _ := readNetstat()
	sampler := sampleAcceptQueue(srv.port(), 20*time.Millisecond)
	cpu0, clients0 := procCPU0(srv.pid()), workersCPU(ws)
	t0 := time.Now()
	replies, err := openShares(ws, srv, o.stormConns, command{Op: "connect", Concurrency: o.stormConc, Timeout: o.stormTimeout.Seconds()})
	wall := time.Since(t0).Seconds()
	cpu, clientCPU := procCPU0(srv.pid())-cpu0, workersCPU(ws)-clients0
	peak := sampler()
	if err != nil {
		return nil, err
	}
	rss, _ := procRSS(srv.pid())
	after, _ := readNetstat()
	time.Sleep(o.settle)
	settled, _ := procRSS(srv.pid())
	s := sumStorm(replies)
	for _, r := range replies {
		note(fmt.Sprintf("client process: %d established in %.2fs, %d failed", r.OK, r.Elapsed, r.Failed))
	}
	for _, reason := range slices.Sorted(maps.Keys(s.errors)) {
		note(fmt.Sprintf("failed %d: %s", s.errors[reason], reason))
	}
	note(counterDeltas(before, after))
	note(fmt.Sprintf("accept queue: limit %d, peak %d (sampled every 20ms); cpu: server %.0f%%, client processes %.0f%%",
		backlog, peak, 100*cpu/wall, 100*clientCPU/wall))
	return []figure{
		{"storm: connections established", float64(s.ok)},
		{"storm: refused", float64(s.refused)},
		{"storm: failed (all reasons)", float64(s.failed)},
		{"storm: seconds to open all", wall},
		{"storm: connections/s", float64(s.ok) / wall},
		{"storm: handshake p50 ms", quantile(s.took, 0.5)},
		{"storm: handshake p99 ms", quantile(s.took, 0.99)},
		{"storm: handshake max ms", quantile(s.took, 1)},
		{"storm: server CPU %", 100 * cpu / wall},
		{"storm: RSS MB after the storm", float64(rss) / (1 << 20)},
		{"storm: RSS KB per connection, settled", float64(settled-base) / float64(max(s.ok, 1)) / 1024},
		{"storm: accept queue limit (listen backlog)", float64(backlog)},
		{"storm: accept queue peak (sampled)", float64(peak)},
		{"storm: ListenOverflows", float64(after["TcpExt.ListenOverflows"] - before["TcpExt.ListenOverflows"])},
		{"storm: SYN cookies sent", float64(after["TcpExt.SyncookiesSent"] - before["TcpExt.SyncookiesSent"])},
	}, nil
}

// stormSum adds up the client processes' replies.
type stormSum struct {
	ok, refused, failed int
	errors              map[string]int
	took                []int64 // handshake times
}

func sumStorm(replies []reply) stormSum {
	s := stormSum{errors: map[string]int{}}
	for _, r := range replies {
		s.ok += r.OK
		s.refused += r.Refused
		s.failed += r.Failed
		s.took = mergeCounts(s.took, r.Hist)
		for k, v := range r.Errors {
			s.errors[k] += v
		}
	}
	return s
}

// sampleAcceptQueue polls the accept queue's length of the socket listening
// on port until the returned function is called, which returns the longest
// queue seen: whether the queue came near its limit (ListenOverflows says
// whether it went over).
func sampleAcceptQueue(port int, every time.Duration) (stop func() int) {
	done, peak := make(chan struct{}), make(chan int, 1)
	go func() {
		high := 0
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				peak <- high
				return
			case <-t.C:
				if q, _, err := listenBacklog(port); err == nil {
					high = max(high, q)
				}
			}
		}
	}()
	return func() int { close(done); return <-peak }
}

// kernelLimits describes the sysctls that bound a listening socket's
// queues.
func kernelLimits() string {
	var parts []string
	for _, name := range []string{"net/core/somaxconn", "net/ipv4/tcp_max_syn_backlog", "net/ipv4/tcp_syncookies", "net/ipv4/tcp_abort_on_overflow"} {
		b, err := os.ReadFile("/proc/sys/" + name)
		v := strings.TrimSpace(string(b))
		if err != nil {
			v = "?"
		}
		parts = append(parts, strings.ReplaceAll(name, "/", ".")+"="+v)
	}
	return "kernel: " + strings.Join(parts, " ")
}

// counterDeltas describes how the listen counters moved during the storm.
func counterDeltas(before, after map[string]int64) string {
	var parts []string
	for _, name := range listenCounters {
		parts = append(parts, fmt.Sprintf("%s +%d", strings.TrimPrefix(name, "TcpExt."), after[name]-before[name]))
	}
	return "kernel counters (whole machine) during the storm: " + strings.Join(parts, ", ")
}

// port is the server's TCP port.
func (s *server) port() int {
	u, err := url.Parse(s.url)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}
