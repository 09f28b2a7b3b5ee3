package engine_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The Go socket.io client (chattest) starts a network monitor at init that
// lives as long as the process: not ours to check, hence IgnoreCurrent.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }
