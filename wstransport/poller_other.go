//go:build !linux

package wstransport

import (
	"context"
	"errors"
	"log/slog"
)

// poller is Linux-only; elsewhere every connection has a reading goroutine.
type poller struct{}

var errPollerStopped = errors.New("wstransport: no readiness loop on this system")

func newPoller(int, *slog.Logger, *registry) *poller { return nil }
func (p *poller) workerCount() int                   { return 0 }
func (p *poller) add(*Transport) error               { return errPollerStopped }
func (p *poller) remove(*Transport)                  {}
func (p *poller) shutdown(context.Context) error     { return nil }
