package socketio

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the tests leave no goroutine behind. Those running
// before the tests are ignored: the Go library's client (goclient_test.go)
// starts one of its own when its packages initialise.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }
