package adapter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/wire"
)

// persist stores a disconnected socket's session as the streams adapter
// does: SET {SessionKeyPrefix}{pid} base64(msgpack(session)) PX window. It
// goes through the publisher, in order and without waiting; Close sends what
// is queued, so sessions of a graceful shutdown are stored too.
func (t *streams) persist(s wire.Session, window time.Duration) {
	raw, err := wire.EncodeSession(s)
	if err != nil {
		t.c.refuseSession(s, err)
		return
	}
	_, _ = t.pub.send(&publication{op: opSet, key: t.cfg.SessionKeyPrefix + s.PID, payload: []byte(raw), ttl: window, kind: "session"}, false)
}

// restore takes the session of pid (GETDEL, so it is restored at most once)
// and checks that offset is still in the stream, then reads the entries
// after it in batches of RestoreBatch (never an unbounded XRANGE) and keeps
// the broadcasts of namespace nsp that reach the session, each with its
// entry id appended, as Node's adapter does.
func (t *streams) restore(ctx context.Context, nsp, pid, offset string) (wire.Session, []any, string, error) {
	if !wire.ValidOffset(offset) {
		return wire.Session{}, nil, restoreInvalid, fmt.Errorf("%w: %q", errInvalidOffset, offset)
	}
	stream := t.stream(nsp)
	var (
		get *redis.StringCmd
		at  *redis.XMessageSliceCmd
	)
	_, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.GetDel(ctx, t.cfg.SessionKeyPrefix+pid)
		at = p.XRangeN(ctx, stream, offset, offset, 1)
		return nil
	})
	raw, getErr := get.Result()
	switch {
	case errors.Is(getErr, redis.Nil):
		return wire.Session{}, nil, restoreNotFound, errSessionNotFound
	case err != nil:
		return wire.Session{}, nil, restoreError, err
	case len(at.Val()) == 0:
		return wire.Session{}, nil, restoreOffsetGone, fmt.Errorf("%w: %s in %s", errOffsetGone, offset, stream)
	}
	s, err := wire.DecodeSession(raw)
	if err != nil {
		return wire.Session{}, nil, restoreError, err
	}
	missed, err := t.missed(ctx, stream, nsp, offset, s.Rooms)
	if errors.Is(err, errTooFarBehind) {
		return wire.Session{}, nil, restoreTooFar, err
	}
	if err != nil {
		return wire.Session{}, nil, restoreError, err
	}
	return s, missed, restoreRecovered, nil
}

// missed reads the stream after offset up to its end (at most RestoreLimit
// entries) and returns the packets for a session in rooms.
func (t *streams) missed(ctx context.Context, stream, nsp, offset string, rooms []string) ([]any, error) {
	missed := []any{}
	from := offset
	for read := int64(0); ; {
		if read >= t.cfg.RestoreLimit {
			more, err := t.rdb.XRangeN(ctx, stream, "("+from, "+", 1).Result()
			if err != nil {
				return nil, err
			}
			if len(more) == 0 {
				return missed, nil
			}
			return nil, fmt.Errorf("%w: more than %d entries after %s", errTooFarBehind, t.cfg.RestoreLimit, offset)
		}
		batch := min(t.cfg.RestoreBatch, t.cfg.RestoreLimit-read)
		// "(" makes the start exclusive (Redis 6.2 and later).
		entries, err := t.rdb.XRangeN(ctx, stream, "("+from, "+", batch).Result()
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if p, ok := t.missedPacket(e, nsp, rooms); ok {
				missed = append(missed, p)
			}
		}
		read += int64(len(entries))
		if int64(len(entries)) < batch {
			return missed, nil
		}
		from = entries[len(entries)-1].ID
	}
}

// missedPacket returns the packet of an entry the session missed: a
// broadcast (type 3) of its namespace whose rooms reach it.
func (t *streams) missedPacket(e redis.XMessage, nsp string, rooms []string) ([]any, bool) {
	if n, _ := e.Values["nsp"].(string); n != nsp {
		return nil, false
	}
	if typ, _ := e.Values["type"].(string); typ != "3" {
		return nil, false
	}
	m, err := wire.DecodeStreamEntry(e.Values)
	if err != nil {
		t.c.malformed(t.stream(nsp), err, 0)
		return nil, false
	}
	if m.RequestID != "" || !includePacket(rooms, m.Opts) {
		return nil, false
	}
	data, err := wire.ClientPayload(m.Data)
	if err != nil {
		t.c.malformed(t.stream(nsp), err, 0)
		return nil, false
	}
	return withOffset(data, e.ID), true
}
