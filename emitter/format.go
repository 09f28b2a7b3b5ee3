package emitter

import (
	"context"
	"fmt"
	"reflect"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/wire"
)

// format is how an emitter's messages reach the cluster: the channels and
// encodings of one adapter protocol (classic, sharded, streams).
type format interface {
	publish(ctx context.Context, rdb redis.UniversalClient, m *wire.Message) error
}

// classicFormat publishes as @socket.io/redis-emitter 5.1 does: broadcasts
// as msgpack on "{prefix}#{nsp}#" (or the single room's channel), the rest
// as JSON on "{prefix}-request#{nsp}#".
type classicFormat struct{ names wire.Classic }

func (f classicFormat) publish(ctx context.Context, rdb redis.UniversalClient, m *wire.Message) error {
	var (
		channel string
		payload []byte
		err     error
	)
	if m.Kind == wire.Broadcast {
		channel = f.names.BroadcastTarget(m)
		payload, err = wire.EncodeClassicBroadcast(m)
	} else {
		channel = f.names.RequestChannel(m.Nsp)
		payload, err = wire.EncodeClassicRequest(m)
	}
	if err != nil {
		return fmt.Errorf("emitter: encoding %s: %w", m.Kind, err)
	}
	if err := rdb.Publish(ctx, channel, payload).Err(); err != nil {
		return fmt.Errorf("emitter: publishing %s on %s: %w", m.Kind, channel, err)
	}
	return nil
}

// shardedFormat publishes ClusterAdapter messages as the sharded adapter
// does: JSON (msgpack when they carry binary), SPUBLISHed on the channel
// the adapters' mode gives.
type shardedFormat struct {
	names wire.Cluster
	mode  wire.ShardedMode
}

func (f shardedFormat) publish(ctx context.Context, rdb redis.UniversalClient, m *wire.Message) error {
	m.UID = wire.EmitterUID
	payload, err := wire.EncodeShardedMessage(m)
	if err != nil {
		return fmt.Errorf("emitter: encoding %s: %w", m.Kind, err)
	}
	channel := f.names.ShardedChannel(m, f.mode)
	if err := rdb.SPublish(ctx, channel, payload).Err(); err != nil {
		return fmt.Errorf("emitter: publishing %s on %s: %w", m.Kind, channel, err)
	}
	return nil
}

// streamsFormat adds ClusterAdapter messages to the stream of the
// namespace, in the streams adapter's field layout.
type streamsFormat StreamsConfig

func (f streamsFormat) publish(ctx context.Context, rdb redis.UniversalClient, m *wire.Message) error {
	m.UID = wire.EmitterUID
	fields, err := wire.StreamFields(m, false)
	if err != nil {
		return fmt.Errorf("emitter: encoding %s: %w", m.Kind, err)
	}
	stream := wire.StreamName(f.StreamName, f.StreamCount, m.Nsp)
	args := &redis.XAddArgs{Stream: stream, MaxLen: f.MaxLen, Approx: true, Values: fields}
	if err := rdb.XAdd(ctx, args).Err(); err != nil {
		return fmt.Errorf("emitter: adding %s to %s: %w", m.Kind, stream, err)
	}
	return nil
}

func isFunc(v any) bool { return v != nil && reflect.TypeOf(v).Kind() == reflect.Func }
