//go:build !linux

package wstransport

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
)

// poller is Linux-only; elsewhere every connection has a reading goroutine.
type poller struct{}

// pollConn is a connection (see poller_linux.go).
type pollConn interface {
	entry() *pollEntry
	finish()
	isFinished() bool
	logID() string
}

// pollEntry is a connection's registration (unused here but for the id).
type pollEntry struct {
	id     uint64
	polled atomic.Bool
	state  atomic.Int32
}

func (e *pollEntry) entry() *pollEntry { return e }

var errPollerStopped = errors.New("wstransport: no readiness loop on this system")

func newPoller(int, *slog.Logger, *registry) *poller { return nil }
func (p *poller) workerCount() int                   { return 0 }
func (p *poller) add(pollConn) error                 { return errPollerStopped }
func (p *poller) remove(pollConn)                    {}
func (p *poller) shutdown(context.Context) error     { return nil }
