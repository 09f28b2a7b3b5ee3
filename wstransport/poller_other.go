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

// pollEntry is a connection's registration (unused here but for the id).
type pollEntry struct {
	id     uint64
	polled atomic.Bool
	state  atomic.Int32
}

var errPollerStopped = errors.New("wstransport: no readiness loop on this system")

func newPoller(int, *slog.Logger, *registry) *poller { return nil }
func (p *poller) workerCount() int                   { return 0 }
func (p *poller) add(*Conn) error                    { return errPollerStopped }
func (p *poller) remove(*Conn)                       {}
func (p *poller) shutdown(context.Context) error     { return nil }
