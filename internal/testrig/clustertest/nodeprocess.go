package clustertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// nodeProcess is a Node.js script of testdata driven over HTTP: it prints
// one JSON line with its ports, takes POST / {"op": ..., ...} on its control
// port and answers {"result": ...} or {"error": "..."}, and exits when its
// stdin closes, so it never outlives the test.
type nodeProcess struct {
	t       testing.TB
	kind    string // for messages: "node peer", "node clients"
	name    string
	control string
	cmd     *exec.Cmd
	stdin   io.WriteCloser

	mu     sync.Mutex
	stderr bytes.Buffer
	once   sync.Once
}

// startNodeProcess runs testdata/script with env added and decodes its
// first line into ports, which must hold a Control field.
func startNodeProcess(t testing.TB, kind, name, script string, env []string, ports any) *nodeProcess {
	t.Helper()
	RequireNode(t)
	p := &nodeProcess{t: t, kind: kind, name: name}
	cmd := exec.Command("node", filepath.Join(RepoRoot(t), "internal", "testrig", "clustertest", "testdata", script))
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = writerFunc(p.logStderr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("clustertest: start %s %s: %v", kind, name, err)
	}
	p.cmd = cmd
	t.Cleanup(p.stop)
	var control struct{ Control int }
	l, ok := nodetest.FirstLine(stdout, WaitFor)
	if !ok || json.Unmarshal([]byte(l), ports) != nil || json.Unmarshal([]byte(l), &control) != nil || control.Control == 0 {
		t.Fatalf("clustertest: %s %s did not start within %v (got %q); stderr:\n%s", kind, name, WaitFor, l, p.stderrText())
	}
	p.control = fmt.Sprintf("http://127.0.0.1:%d/", control.Control)
	return p
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (p *nodeProcess) logStderr(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

func (p *nodeProcess) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Stop ends the process before the test does (it is stopped at the end of
// the test otherwise).
func (p *nodeProcess) Stop() { p.stop() }

// stop closes the process's stdin, on which it exits, and waits for it.
func (p *nodeProcess) stop() { p.once.Do(p.end) }

func (p *nodeProcess) end() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	if s := p.stderrText(); s != "" && p.t.Failed() {
		p.t.Logf("%s %s stderr:\n%s", p.kind, p.name, s)
	}
}

// Call runs a control command and returns its result as decoded JSON, with
// binary and dates turned back into []byte and time.Time.
func (p *nodeProcess) Call(t testing.TB, op string, args map[string]any) any {
	t.Helper()
	res, err := p.Try(op, args)
	if err != nil {
		t.Fatalf("clustertest: %s %s: %s: %v; stderr:\n%s", p.kind, p.name, op, err, p.stderrText())
	}
	return res
}

// Try is Call returning the command's error instead of failing.
func (p *nodeProcess) Try(op string, args map[string]any) (any, error) {
	cmd := map[string]any{"op": op}
	for k, v := range args {
		cmd[k] = ToControl(v)
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	c := http.Client{Timeout: 3 * WaitFor}
	resp, err := c.Post(p.control, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var reply struct {
		Result any
		Error  string
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return nil, err
	}
	if reply.Error != "" {
		return nil, errors.New(reply.Error)
	}
	return FromControl(reply.Result), nil
}
