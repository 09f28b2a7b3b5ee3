package main

import (
	"fmt"
	"math"
	"net"
	"time"
)

// pollingRun measures long polling: o.pollClients clients on the polling
// transport only, each in a closed loop of acked echo events, while a
// WebSocket sender broadcasts to all of them at o.pollRate per second.
func pollingRun(o *options, sys string, note func(string)) ([]figure, error) {
	srv, err := startServer(sys, o)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	// Two sockets per client: 4,500 clients per process at most.
	ws, ok, err := openClients(srv, o.pollClients, 4500, command{Op: "pconnect", Rate: o.connectRate})
	if err != nil {
		return nil, err
	}
	defer stopWorkers(ws)
	if ok == 0 {
		return nil, fmt.Errorf("no polling client connected")
	}
	sender, err := dial(srv.url, net.IPv4(127, 0, 0, 1), 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer sender.close()
	go sender.run()
	time.Sleep(time.Second)
	if _, err := callAll(ws, func(int, *worker) command { return command{Op: "reset"} }); err != nil {
		return nil, err
	}
	m, err := measurePolling(o, srv, ws, sender)
	if err != nil {
		return nil, err
	}
	time.Sleep(o.drain)
	stats, err := callAll(ws, func(int, *worker) command { return command{Op: "stats"} })
	if err != nil {
		return nil, err
	}
	return m.figures(o, ok, stats, note), nil
}

// pollingMeasure is what pollingRun measures while the load runs.
type pollingMeasure struct {
	echo       []reply
	sent       int
	cpu, wall  float64 // server CPU seconds and wall seconds, after the warm-up
	clientCPU  float64 // CPU seconds of the client processes, same time
	rss        int64
	sentPerSec float64
}

// measurePolling runs the echo loops and the broadcasts together for the
// warm-up and the measured duration, and reads the server's CPU over the
// latter.
func measurePolling(o *options, srv *server, ws []*worker, sender *conn) (*pollingMeasure, error) {
	total := o.echoWarmup + o.pollDur
	echoc, errc := make(chan []reply, 1), make(chan error, 2)
	go func() {
		r, err := callAll(ws, func(int, *worker) command {
			return command{Op: "pecho", Duration: o.pollDur.Seconds(), Warmup: o.echoWarmup.Seconds(), Size: o.echoSize}
		})
		errc <- err
		echoc <- r
	}()
	sentc := make(chan int, 1)
	go func() {
		n, err := sendBroadcasts(sender, o.pollRate, total)
		errc <- err
		sentc <- n
	}()
	time.Sleep(o.echoWarmup)
	cpu0, clients0 := procCPU0(srv.pid()), workersCPU(ws)
	t0 := time.Now()
	time.Sleep(o.pollDur)
	cpu1, clients1 := procCPU0(srv.pid()), workersCPU(ws)
	m := &pollingMeasure{cpu: cpu1 - cpu0, wall: time.Since(t0).Seconds(), clientCPU: clients1 - clients0}
	m.rss, _ = procRSS(srv.pid())
	for range 2 {
		if err := <-errc; err != nil {
			return nil, err
		}
	}
	m.echo, m.sent = <-echoc, <-sentc
	m.sentPerSec = float64(m.sent) / total.Seconds()
	return m, nil
}

// figures turns the measure and the clients' counts (stats, read after the
// drain) into the scenario's figures.
func (m *pollingMeasure) figures(o *options, clients int, stats []reply, note func(string)) []figure {
	var acks, delivered, dropped, reopened int64
	var echoCounts, bcastCounts []int64
	for _, r := range m.echo {
		acks += r.Acks
		echoCounts = mergeCounts(echoCounts, r.Hist)
	}
	for _, r := range stats {
		delivered += r.Received
		dropped += r.Dropped
		reopened += r.Reopened
		bcastCounts = mergeCounts(bcastCounts, r.BHist)
	}
	expected := int64(m.sent) * int64(clients)
	note(fmt.Sprintf("%d clients: %d acks in %.1fs; %d broadcasts (%.1f/s) delivered %d of %d, p50 %.1fms; cpu: server %.0f%%, client processes %.0f%%; %d keep-alive connections reopened",
		clients, acks, o.pollDur.Seconds(), m.sent, m.sentPerSec, delivered, expected, quantile(bcastCounts, 0.5),
		100*m.cpu/m.wall, 100*m.clientCPU/m.wall, reopened))
	return []figure{
		{"polling: clients connected", float64(clients)},
		{"polling: acks/s", float64(acks) / o.pollDur.Seconds()},
		{"polling: acks/core-s", float64(acks) / math.Max(m.cpu, 0.01)},
		{"polling: echo p50 ms", quantile(echoCounts, 0.5)},
		{"polling: echo p99 ms", quantile(echoCounts, 0.99)},
		{"polling: broadcasts delivered", float64(delivered)},
		{"polling: broadcasts expected", float64(expected)},
		{"polling: broadcast loss %", 100 * float64(expected-delivered) / float64(max(expected, 1))},
		{"polling: delivery p99 ms", quantile(bcastCounts, 0.99)},
		{"polling: server CPU %", 100 * m.cpu / m.wall},
		{"polling: RSS MB", float64(m.rss) / (1 << 20)},
		{"polling: clients dropped", float64(dropped)},
	}
}

// procCPU0 is procCPU with a process that cannot be read counted as idle.
func procCPU0(pid int) float64 {
	c, _ := procCPU(pid)
	return c
}

// workersCPU sums the CPU seconds of the client processes.
func workersCPU(ws []*worker) float64 {
	total := 0.0
	for _, w := range ws {
		total += procCPU0(w.cmd.Process.Pid)
	}
	return total
}
