package redistest_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the goroutine, so a test can check what Start reports when it fails.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartFailureQuotesLog(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(rec, redistest.WithArgs("--no-such-directive", "x"))
	}()
	<-done
	if !strings.Contains(rec.msg, "no-such-directive") {
		t.Fatalf("failure message does not quote the server's log:\n%s", rec.msg)
	}
}

// The child half of TestServerDiesWithTestBinary: start a server, print its
// address and exit abruptly, without running any cleanup.
func TestCrashingChild(t *testing.T) {
	if os.Getenv("REDISTEST_CRASH_CHILD") != "1" {
		return // only meaningful when run by TestServerDiesWithTestBinary
	}
	s := redistest.Start(t)
	fmt.Println("ADDR", s.Addr())
	os.Exit(3)
}

func TestServerDiesWithTestBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("only Linux ties redis-server's life to the test binary (GOOS=%s)", runtime.GOOS)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashingChild$", "-test.v")
	cmd.Env = append(os.Environ(), "REDISTEST_CRASH_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var addr string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addr = a
		}
	}
	_ = cmd.Wait()
	if addr == "" {
		t.Fatal("child did not print the server's address")
	}
	deadline := time.Now().Add(5 * time.Second)
	for redisAnswers(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s still answers after its test binary exited", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
