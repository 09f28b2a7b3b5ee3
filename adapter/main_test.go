package adapter_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// exampleRedis is the address of the redis-server TestMain starts for the
// Example functions, which have no testing.T to start one.
var exampleRedis string

// TestMain starts the examples' Redis and checks for leaked goroutines. The
// socket.io client package starts a process-wide network monitor in its
// init; IgnoreCurrent leaves exactly the goroutines that exist before any
// test out. go-redis's own log lines (dial retries during the outage tests)
// are silenced unless PARLEY_TEST_LOG is set.
func TestMain(m *testing.M) {
	before := goleak.IgnoreCurrent()
	if os.Getenv("PARLEY_TEST_LOG") == "" {
		redis.SetLogger(quietRedis{})
	}
	addr, stop, err := redistest.StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exampleRedis = addr
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(before); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
