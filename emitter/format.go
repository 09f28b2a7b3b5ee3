package emitter

import (
	"context"
	"fmt"
	"reflect"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/wire"
)

// format is how an emitter's messages reach the cluster: the channels and
// encodings of one adapter protocol. The classic protocol of
// @socket.io/redis-adapter is the only one the Node emitter speaks; the
// ClusterMessage format of the sharded and streams adapters (other channels
// or a stream, other encodings) is another implementation of this interface.
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

func isFunc(v any) bool { return v != nil && reflect.TypeOf(v).Kind() == reflect.Func }
