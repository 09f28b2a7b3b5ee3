// Package redistest starts real redis-server processes for tests: single
// servers that can be killed and restarted on the same port (to test outages),
// and small Redis Clusters.
//
// Every process gets its own temporary directory and a free 127.0.0.1 port,
// runs without persistence, writes its log to a file in its directory (the
// tail of which is quoted in failure messages) and is stopped when the test
// ends. On Linux the processes also die with the test binary if it crashes.
// A missing redis-server binary fails the test; it is never skipped.
//
// A Server's methods must be called from the test's goroutine (they may call
// t.Fatalf).
package redistest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a process may take to answer PING.
const startTimeout = 10 * time.Second

// startAttempts is how many ports Start tries before giving up: a port found
// free can be taken by another process before redis-server binds it.
const startAttempts = 5

// Option changes how Start (or StartCluster, for each node) runs redis-server.
type Option func(*config)

type config struct {
	args []string
}

// WithArgs appends command-line arguments to redis-server, e.g.
// WithArgs("--maxmemory", "10mb"). They come after the defaults, so they can
// override them.
func WithArgs(extra ...string) Option {
	return func(c *config) { c.args = append(c.args, extra...) }
}

// Server is one redis-server process listening on 127.0.0.1.
type Server struct {
	t       testing.TB
	port    int
	dir     string
	logPath string
	args    []string
	cluster bool

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start runs a redis-server on a free port and waits until it answers PING.
// The server is stopped when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return start(t, false, opts)
}

func start(t testing.TB, cluster bool, opts []Option) *Server {
	t.Helper()
	requireBinary(t, "redis-server")
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	dir := t.TempDir()
	s := &Server{
		t:       t,
		dir:     dir,
		logPath: filepath.Join(dir, "redis.log"),
		args:    cfg.args,
		cluster: cluster,
	}
	t.Cleanup(s.cleanup)
	var lastErr error
	for range startAttempts {
		port, err := freePort(cluster)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.port = port
		lastErr = s.launch()
		if lastErr == nil {
			return s
		}
		if !strings.Contains(lastErr.Error(), "Address already in use") {
			break
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

// requireBinary fails the test loudly when a needed program is not installed.
func requireBinary(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("redistest: %s is not on PATH (install Redis, e.g. apt-get install redis-server): %v", name, err)
	}
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL returns the server's address as a redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Dir returns the server's own temporary directory (its working directory).
func (s *Server) Dir() string { return s.dir }

// Client returns a new go-redis client for the server, closed when the test
// ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill sends SIGKILL to the server and waits for it to exit. It does nothing
// if the server is not running.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Stop sends SIGTERM to the server and waits for it to exit, falling back to
// SIGKILL after a few seconds. It does nothing if the server is not running.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Restart starts the server again on the same port after Kill or Stop, and
// waits until it answers PING. Without persistence, it starts empty.
func (s *Server) Restart() {
	s.t.Helper()
	if s.running() {
		s.t.Fatalf("redistest: Restart of %s, which is still running", s.Addr())
	}
	// The old socket may linger briefly in the kernel; retry for a while.
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.launch()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "Address already in use") || time.Now().After(deadline) {
			s.t.Fatalf("redistest: restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LogTail returns the last lines of the server's log file.
func (s *Server) LogTail() string { return tailFile(s.logPath, 20) }

func (s *Server) running() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *Server) signal(sig syscall.Signal) {
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

func (s *Server) cleanup() { s.Stop() }

// launch starts redis-server on s.port and waits for PING. On failure the
// process is gone and the error quotes the log written by this attempt.
func (s *Server) launch() error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	offset, _ := logFile.Seek(0, 2)

	cmd := exec.Command("redis-server", s.commandArgs()...)
	cmd.Dir = s.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	if err := waitPing(s.Addr(), done, startTimeout); err != nil {
		s.Kill()
		return fmt.Errorf("redis-server on %s: %v; log:\n%s", s.Addr(), err, readFrom(s.logPath, offset))
	}
	return nil
}

func (s *Server) commandArgs() []string {
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "no",
	}
	if s.cluster {
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000",
			// Replicas sync at once instead of waiting 5 s for others.
			"--repl-diskless-sync-delay", "0",
		)
	}
	return append(args, s.args...)
}
