package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a server process under test.
type server struct {
	system string
	cmd    *exec.Cmd
	url    string
}

// adminModes are the admin UI's modes of the Go systems: parley-admin and
// parley-admin-dev measure what the admin UI costs, with no dashboard
// connected (what a node pays all the time, not while watched).
var adminModes = map[string]string{"parley": "off", "parley-admin": "production", "parley-admin-dev": "development"}

// startServer starts the Go or Node server on a free port.
func startServer(system string, o *options) (*server, error) { return startClustered(system, o, "") }

// startClustered starts a server that joins the cluster on redisURL ("" for
// none).
func startClustered(system string, o *options, redisURL string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	interval, timeout := o.pingInterval.Milliseconds(), o.pingTimeout.Milliseconds()
	var cmd *exec.Cmd
	switch system {
	case "node":
		args := []string{filepath.Join(o.nodeDir, "server.js"), fmt.Sprint(port), fmt.Sprint(interval), fmt.Sprint(timeout)}
		if redisURL != "" {
			args = append(args, redisURL)
		}
		cmd = exec.Command("node", args...)
	case "parley", "parley-admin", "parley-admin-dev":
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		args := []string{"serve", "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-ping-interval", o.pingInterval.String(), "-ping-timeout", o.pingTimeout.String(),
			"-admin", adminModes[system]}
		if redisURL != "" {
			args = append(args, "-redis", redisURL)
		}
		cmd = exec.Command(self, args...)
		cmd.Env = os.Environ()
		if o.gogc != "" {
			cmd.Env = append(cmd.Env, "GOGC="+o.gogc)
		}
		if o.pprof != "" && redisURL == "" {
			cmd.Args = append(cmd.Args, "-pprof", o.pprof)
		}
	default:
		return nil, fmt.Errorf("unknown system %q", system)
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s server: %w", system, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s server did not start: %q %v", system, line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return &server{system: system, cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port)}, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// worker is a client process.
type worker struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	dec *json.Decoder
	ips []string
}

// startWorkers starts n client processes, each with its own source
// addresses (127.0.k.2-5 for worker k).
func startWorkers(n int) ([]*worker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var ws []*worker
	for k := range n {
		cmd := exec.Command(self, "clients")
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			stopWorkers(ws)
			return nil, err
		}
		w := &worker{cmd: cmd, in: in, dec: json.NewDecoder(out)}
		for i := 2; i <= 5; i++ {
			w.ips = append(w.ips, fmt.Sprintf("127.0.%d.%d", k+1, i))
		}
		ws = append(ws, w)
	}
	return ws, nil
}

func (w *worker) call(c command) (reply, error) {
	if err := json.NewEncoder(w.in).Encode(c); err != nil {
		return reply{}, err
	}
	var r reply
	err := w.dec.Decode(&r)
	return r, err
}

// callAll sends each worker its command (build makes it) in parallel.
func callAll(ws []*worker, build func(i int, w *worker) command) ([]reply, error) {
	replies := make([]reply, len(ws))
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() { replies[i], errs[i] = w.call(build(i, w)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return replies, err
		}
	}
	return replies, nil
}

func stopWorkers(ws []*worker) {
	for _, w := range ws {
		_, _ = w.call(command{Op: "close"})
		_ = w.in.Close()
		_ = w.cmd.Wait()
	}
}

// redisServer is a redis-server process for the cluster scenarios.
type redisServer struct {
	cmd *exec.Cmd
	url string
}

// startRedis runs redis-server on a free port, without persistence.
func startRedis() (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "parley-bench-redis")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server (apt-get install redis-server): %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("redis-server did not listen on %s", addr)
		}
	}
	return &redisServer{cmd: cmd, url: "redis://" + addr}, nil
}

func (r *redisServer) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}
