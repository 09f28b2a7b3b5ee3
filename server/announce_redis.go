package server

import (
	"context"

	"github.com/parley-chat/parley/emitter"
)

// redisAnnouncer publishes presence events through Redis with an emitter.
// Redis orders the announcements of every node on one channel, and every
// node, this one included, delivers them to its sockets in that order when
// they come back, which is what presence across nodes needs (see
// Announcer). Announce returns once Redis took the event.
type redisAnnouncer struct{ ns *emitter.Namespace }

// NewRedisAnnouncer returns an Announcer for a cluster whose nodes' adapters
// share ns's Redis and prefix.
func NewRedisAnnouncer(ns *emitter.Namespace) Announcer { return redisAnnouncer{ns} }

func (a redisAnnouncer) Announce(ctx context.Context, except, event string, payload any) error {
	if except == "" {
		return a.ns.Emit(ctx, event, payload)
	}
	return a.ns.Except(except).Emit(ctx, event, payload)
}
