package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options are the "run" flags.
type options struct {
	systems, scenarios        []string
	reps                      int
	memConns                  []int
	connectRate               float64
	settle                    time.Duration
	fanout1k, fanout5k        []float64
	stepDur, drain, overload  time.Duration
	echoClients, echoSize     int
	echoDur, echoWarmup       time.Duration
	pingInterval, pingTimeout time.Duration
	nodeDir, gogc, jsonOut    string
	pprof                     string
	pollClients               int
	pollRate                  float64
	pollDur                   time.Duration
	stormConns, stormConc     int
	stormTimeout              time.Duration
}

func parseOptions(args []string) (*options, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	o := &options{}
	systems := fs.String("systems", "parley,node", "servers to measure: parley, node, parley-admin (the admin UI on, production mode, no dashboard), parley-admin-dev (development mode)")
	scenarios := fs.String("scenarios", "memory,fanout1k,fanout5k,fanout2n,echo", "scenarios to run (fanout2n: 1,000 receivers on two nodes joined through Redis); also polling (long-polling clients: echo and broadcasts) and storm (connections opened without a rate limit)")
	fs.IntVar(&o.reps, "reps", 3, "repetitions of every scenario (medians are reported)")
	mem := fs.String("mem-conns", "5000,19500", "idle connection counts of the memory scenario")
	fs.Float64Var(&o.connectRate, "connect-rate", 2500, "connections opened per second")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "wait after connecting before RSS is read")
	f1 := fs.String("fanout1k-rates", "20,40,80,120,160,240", "broadcasts per second, 1,000 receivers (p99 <= 100ms)")
	f5 := fs.String("fanout5k-rates", "4,8,16,24,32,48", "broadcasts per second, 5,000 receivers (p99 <= 1s)")
	fs.DurationVar(&o.stepDur, "step", 3*time.Second, "duration of a fan-out step")
	fs.DurationVar(&o.drain, "drain", 2*time.Second, "wait after a step for deliveries in flight")
	fs.DurationVar(&o.overload, "overload", 30*time.Second, "duration of the step at twice the sustainable rate (longer than the ping interval, so that heartbeats go through the backlog)")
	fs.IntVar(&o.echoClients, "echo-clients", 100, "connections of the echo scenario")
	fs.IntVar(&o.echoSize, "echo-size", 100, "bytes per echo event")
	fs.DurationVar(&o.echoDur, "echo-duration", 6*time.Second, "measured duration of the echo scenario")
	fs.DurationVar(&o.echoWarmup, "echo-warmup", time.Second, "echo warm-up")
	fs.IntVar(&o.pollClients, "polling-clients", 1000, "long-polling clients of the polling scenario, each in a closed loop of acked echo events")
	fs.Float64Var(&o.pollRate, "polling-bcast-rate", 5, "broadcasts per second to the polling clients, meanwhile")
	fs.DurationVar(&o.pollDur, "polling-duration", 30*time.Second, "measured duration of the polling scenario (after -echo-warmup; longer than the ping interval, so that every client answers a ping)")
	fs.IntVar(&o.stormConns, "storm-conns", 19500, "WebSocket connections of the storm scenario, opened without a rate limit")
	fs.IntVar(&o.stormConc, "storm-concurrency", 256, "handshakes in progress per client process in the storm")
	fs.DurationVar(&o.stormTimeout, "storm-timeout", 15*time.Second, "time allowed to one connection of the storm (TCP connect, upgrade, CONNECT)")
	fs.DurationVar(&o.pingInterval, "ping-interval", 25*time.Second, "servers' ping interval (both default to Node's)")
	fs.DurationVar(&o.pingTimeout, "ping-timeout", 20*time.Second, "servers' ping timeout")
	fs.StringVar(&o.nodeDir, "node-dir", "cmd/parley-bench/node", "directory of the Node peer's server.js")
	fs.StringVar(&o.gogc, "gogc", "", "GOGC of the Go server (empty: the Go default, 100)")
	fs.StringVar(&o.pprof, "pprof", "", "serve net/http/pprof of the (first) Go server on this address, to profile it during a run")
	fs.StringVar(&o.jsonOut, "json", "", "also write every run's figures to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.systems = strings.Split(*systems, ",")
	o.scenarios = strings.Split(*scenarios, ",")
	var err error
	if o.memConns, err = parseList(*mem, strconv.Atoi); err != nil {
		return nil, fmt.Errorf("-mem-conns: %w", err)
	}
	parseF := func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
	if o.fanout1k, err = parseList(*f1, parseF); err != nil {
		return nil, fmt.Errorf("-fanout1k-rates: %w", err)
	}
	if o.fanout5k, err = parseList(*f5, parseF); err != nil {
		return nil, fmt.Errorf("-fanout5k-rates: %w", err)
	}
	if abs, err := filepath.Abs(o.nodeDir); err == nil {
		o.nodeDir = abs
	}
	return o, nil
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// results collects each metric's values per system, in first-seen order,
// and the notes of the runs (what a number cannot say, such as why
// connections failed).
type results struct {
	order  []string
	values map[string]map[string][]float64
	loads  []string
	notes  []string
}

func (r *results) add(system string, figures []figure) {
	for _, f := range figures {
		if r.values[f.name] == nil {
			r.values[f.name] = map[string][]float64{}
			r.order = append(r.order, f.name)
		}
		r.values[f.name][system] = append(r.values[f.name][system], f.value)
	}
}

// figure is one measured number of a run.
type figure struct {
	name  string
	value float64
}

func runMain(args []string) int {
	o, err := parseOptions(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley-bench:", err)
		return 2
	}
	res := &results{values: map[string]map[string][]float64{}}
	for rep := range o.reps {
		for _, sc := range o.scenarios {
			// Rotate the order of the systems from one repetition to the next.
			systems := append(slices.Clone(o.systems[rep%len(o.systems):]), o.systems[:rep%len(o.systems)]...)
			for _, sys := range systems {
				load := loadAvg()
				res.loads = append(res.loads, load)
				fmt.Fprintf(os.Stderr, "parley-bench: rep %d %s %s (load %s)\n", rep+1, sc, sys, load)
				note := func(s string) {
					fmt.Fprintf(os.Stderr, "    %s\n", s)
					res.notes = append(res.notes, fmt.Sprintf("rep %d %s %s: %s", rep+1, sc, sys, s))
				}
				figs, err := runScenario(o, sc, sys, note)
				if err != nil {
					fmt.Fprintf(os.Stderr, "parley-bench: %s %s: %v\n", sc, sys, err)
					return 1
				}
				for _, f := range figs {
					fmt.Fprintf(os.Stderr, "    %-48s %12.1f\n", f.name, f.value)
				}
				res.add(sys, figs)
			}
		}
	}
	printTable(os.Stdout, o, res)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"order": res.order, "values": res.values, "loadavg": res.loads, "notes": res.notes}, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "parley-bench:", err)
			return 1
		}
	}
	return 0
}

func runScenario(o *options, sc, sys string, note func(string)) ([]figure, error) {
	switch sc {
	case "memory":
		var out []figure
		for _, n := range o.memConns {
			figs, err := memoryRun(o, sys, n)
			if err != nil {
				return nil, err
			}
			out = append(out, figs...)
		}
		return out, nil
	case "fanout1k":
		return fanoutRun(o, sys, 1000, o.fanout1k, 100*time.Millisecond, 40)
	case "fanout5k":
		return fanoutRun(o, sys, 5000, o.fanout5k, time.Second, 8)
	case "fanout2n":
		return fanoutTwoNodes(o, sys, 1000, o.fanout1k, 100*time.Millisecond, 40)
	case "echo":
		return echoRun(o, sys)
	case "polling":
		return pollingRun(o, sys, note)
	case "storm":
		return stormRun(o, sys, note)
	}
	return nil, fmt.Errorf("unknown scenario %q", sc)
}

// connectAll opens n WebSocket connections spread over enough client
// processes.
func connectAll(o *options, srv *server, n int) ([]*worker, int, error) {
	return openClients(srv, n, 9000, command{Op: "connect", Rate: o.connectRate})
}

// openClients starts enough client processes for n clients (at least two,
// at most perProc clients each, so that their sockets stay under the limit
// of 20,000 open files) and has them open the clients with proto (connect
// or pconnect, at proto.Rate per second in all). It returns the clients
// opened.
func openClients(srv *server, n, perProc int, proto command) ([]*worker, int, error) {
	ws, err := startWorkers(max(2, (n+perProc-1)/perProc))
	if err != nil {
		return nil, 0, err
	}
	replies, err := openShares(ws, srv, n, proto)
	if err != nil {
		stopWorkers(ws)
		return nil, 0, err
	}
	ok := 0
	for _, r := range replies {
		ok += r.OK
		if r.Failed > 0 {
			fmt.Fprintf(os.Stderr, "    %d connections failed: %s\n", r.Failed, r.Err)
		}
	}
	return ws, ok, nil
}

// openShares has every client process open its share of n clients with
// proto, the rate shared out too, and returns their replies.
func openShares(ws []*worker, srv *server, n int, proto command) ([]reply, error) {
	return callAll(ws, func(i int, w *worker) command {
		c := proto
		c.URL, c.IPs, c.N = srv.url, w.ips, n/len(ws)
		if i < n%len(ws) {
			c.N++
		}
		c.Rate = proto.Rate / float64(len(ws))
		return c
	})
}

// memoryRun measures the server's RSS per idle connection.
func memoryRun(o *options, sys string, n int) ([]figure, error) {
	srv, err := startServer(sys, o)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	time.Sleep(time.Second)
	base, err := procRSS(srv.pid())
	if err != nil {
		return nil, err
	}
	ws, ok, err := connectAll(o, srv, n)
	if err != nil {
		return nil, err
	}
	defer stopWorkers(ws)
	time.Sleep(o.settle)
	rss, err := procRSS(srv.pid())
	if err != nil {
		return nil, err
	}
	if ok == 0 {
		return nil, fmt.Errorf("no connection established")
	}
	return []figure{
		{fmt.Sprintf("memory %d: connections established", n), float64(ok)},
		{fmt.Sprintf("memory %d: RSS KB per idle connection", n), float64(rss-base) / float64(ok) / 1024},
		{fmt.Sprintf("memory %d: RSS MB", n), float64(rss) / (1 << 20)},
	}, nil
}

// step is one fan-out step's outcome.
type step struct {
	rate                float64
	sent                int
	delivered, expected int64
	dropped             int64
	p50, p99, cpu, eff  float64
	deliveredPerSec     float64
	pass                bool
}

// fanoutRun connects receivers, then broadcasts at increasing rates until a
// step fails (loss, a dropped receiver, or p99 above limit), then runs
// twice the last sustainable rate.
func fanoutRun(o *options, sys string, receivers int, rates []float64, limit time.Duration, fixed float64) ([]figure, error) {
	srv, err := startServer(sys, o)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	ws, ok, err := connectAll(o, srv, receivers)
	if err != nil {
		return nil, err
	}
	defer stopWorkers(ws)
	return fanoutSteps(o, fmt.Sprintf("fanout %d", receivers), []*server{srv}, ws, ok, rates, limit, fixed)
}

// fanoutTwoNodes is fanoutRun on two servers of the system joined through
// one Redis: half the receivers on each, the sender on the first, and the
// CPU of both servers counted (Redis's not).
func fanoutTwoNodes(o *options, sys string, receivers int, rates []float64, limit time.Duration, fixed float64) ([]figure, error) {
	rds, err := startRedis()
	if err != nil {
		return nil, err
	}
	defer rds.stop()
	var servers []*server
	var workers []*worker
	defer func() {
		stopWorkers(workers)
		for _, s := range servers {
			s.stop()
		}
	}()
	total := 0
	for range 2 {
		srv, err := startClustered(sys, o, rds.url)
		if err != nil {
			return nil, err
		}
		servers = append(servers, srv)
	}
	time.Sleep(time.Second) // subscriptions
	for _, srv := range servers {
		ws, ok, err := connectAll(o, srv, receivers/2)
		workers = append(workers, ws...)
		if err != nil {
			return nil, err
		}
		total += ok
	}
	return fanoutSteps(o, fmt.Sprintf("fanout %d on 2 nodes", receivers), servers, workers, total, rates, limit, fixed)
}

// fanoutSteps runs the steps against servers whose receivers are the
// workers' connections; the sender connects to the first server.
func fanoutSteps(o *options, tag string, servers []*server, ws []*worker, receivers int, rates []float64, limit time.Duration, fixed float64) ([]figure, error) {
	sender, err := dial(servers[0].url, net.IPv4(127, 0, 0, 1), 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer sender.close()
	go sender.run()
	time.Sleep(2 * time.Second)
	var figs []figure
	var last *step
	var droppedBefore int64
	for _, rate := range rates {
		st, err := runStep(o, servers, ws, sender, receivers, rate, o.stepDur, limit, &droppedBefore)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "    step %5.0f/s: delivered %d/%d, p50 %.1fms p99 %.1fms, server cpu %.0f%%, %.0f deliv/core-s\n",
			rate, st.delivered, st.expected, st.p50, st.p99, st.cpu*100, st.eff)
		if rate == fixed {
			figs = append(figs,
				figure{fmt.Sprintf("%s: deliv/core-s at %.0fk deliv/s", tag, fixed*float64(receivers)/1000), st.eff},
				figure{fmt.Sprintf("%s: p99 ms at %.0fk deliv/s", tag, fixed*float64(receivers)/1000), st.p99})
		}
		if !st.pass {
			break
		}
		last = st
	}
	if last == nil {
		return append(figs, figure{tag + ": max sustained deliv/s", 0}), nil
	}
	figs = append(figs,
		figure{tag + ": max sustained deliv/s", last.deliveredPerSec},
		figure{tag + ": deliv/core-s at max sustained", last.eff})
	over, err := runStep(o, servers, ws, sender, receivers, 2*last.rate, o.overload, limit, &droppedBefore)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "    overload %5.0f/s for %s: delivered %d/%d, dropped receivers %d, p99 %.0fms\n",
		2*last.rate, o.overload, over.delivered, over.expected, over.dropped, over.p99)
	return append(figs,
		figure{tag + ": receivers dropped at 2x sustainable", float64(over.dropped)},
		figure{tag + ": loss % at 2x sustainable", 100 * float64(over.expected-over.delivered) / float64(max(over.expected, 1))}), nil
}

// serversCPU sums the CPU seconds of the servers' processes.
func serversCPU(servers []*server) float64 {
	total := 0.0
	for _, s := range servers {
		c, _ := procCPU(s.pid())
		total += c
	}
	return total
}

func runStep(o *options, servers []*server, ws []*worker, sender *conn, receivers int, rate float64, d, limit time.Duration, droppedBefore *int64) (*step, error) {
	if _, err := callAll(ws, func(int, *worker) command { return command{Op: "reset"} }); err != nil {
		return nil, err
	}
	cpu0 := serversCPU(servers)
	t0 := time.Now()
	sent, err := sendBroadcasts(sender, rate, d)
	if err != nil {
		return nil, err
	}
	time.Sleep(o.drain)
	cpu1 := serversCPU(servers)
	wall := time.Since(t0).Seconds()
	replies, err := callAll(ws, func(int, *worker) command { return command{Op: "stats"} })
	if err != nil {
		return nil, err
	}
	st := &step{rate: rate, sent: sent, expected: int64(sent) * int64(receivers)}
	var counts []int64
	var dropped int64
	for _, r := range replies {
		st.delivered += r.Received
		dropped += r.Dropped
		counts = mergeCounts(counts, r.Hist)
	}
	st.dropped = dropped - *droppedBefore
	*droppedBefore = dropped
	st.p50, st.p99 = quantile(counts, 0.5), quantile(counts, 0.99)
	st.cpu = (cpu1 - cpu0) / wall
	st.eff = float64(st.delivered) / math.Max(cpu1-cpu0, 0.01)
	st.deliveredPerSec = float64(st.delivered) / d.Seconds()
	st.pass = st.delivered >= st.expected && st.dropped == 0 && st.p99 <= float64(limit.Milliseconds())
	return st, nil
}

// sendBroadcasts emits "broadcast" events at rate per second for d, each
// carrying its send time, and returns how many it sent.
func sendBroadcasts(sender *conn, rate float64, d time.Duration) (int, error) {
	t0 := time.Now()
	pad := strings.Repeat("x", 60)
	sent := 0
	for time.Since(t0) < d {
		next := t0.Add(time.Duration(float64(sent) / rate * float64(time.Second)))
		time.Sleep(time.Until(next))
		msg := fmt.Appendf(nil, `42["broadcast",{"t":%d,"p":"%s"}]`, time.Now().UnixNano(), pad)
		if err := sender.writeText(msg); err != nil {
			return sent, fmt.Errorf("sender: %w", err)
		}
		sent++
	}
	return sent, nil
}

// echoRun measures acked events per server core-second.
func echoRun(o *options, sys string) ([]figure, error) {
	srv, err := startServer(sys, o)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	ws, ok, err := connectAll(o, srv, o.echoClients)
	if err != nil {
		return nil, err
	}
	defer stopWorkers(ws)
	if ok < o.echoClients {
		return nil, fmt.Errorf("only %d of %d echo clients connected", ok, o.echoClients)
	}
	done := make(chan []reply, 1)
	errc := make(chan error, 1)
	go func() {
		r, err := callAll(ws, func(int, *worker) command {
			return command{Op: "echo", Clients: o.echoClients, Duration: o.echoDur.Seconds(), Warmup: o.echoWarmup.Seconds(), Size: o.echoSize}
		})
		errc <- err
		done <- r
	}()
	time.Sleep(o.echoWarmup)
	cpu0, _ := procCPU(srv.pid())
	time.Sleep(o.echoDur)
	cpu1, _ := procCPU(srv.pid())
	if err := <-errc; err != nil {
		return nil, err
	}
	replies := <-done
	var acks int64
	var counts []int64
	for _, r := range replies {
		acks += r.Acks
		counts = mergeCounts(counts, r.Hist)
	}
	return []figure{
		{"echo: acks/s", float64(acks) / o.echoDur.Seconds()},
		{"echo: acks/core-s", float64(acks) / math.Max(cpu1-cpu0, 0.01)},
		{"echo: p99 ms", quantile(counts, 0.99)},
	}, nil
}
