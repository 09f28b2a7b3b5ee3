package adapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Publisher limits.
const (
	maxBatch       = 256             // commands per pipeline
	publishTimeout = 5 * time.Second // one pipeline round trip
)

var errQueueFull = errors.New("adapter: publish queue full (Redis too slow or unreachable)")

// pubOp is the Redis command of a publication.
type pubOp uint8

const (
	opPublish pubOp = iota
	opSPublish
	opXAdd
	opSet
)

// publication is one command to send.
type publication struct {
	op      pubOp
	key     string        // channel or stream
	payload []byte        // PUBLISH / SPUBLISH message, SET value
	fields  []any         // XADD field/value pairs
	maxLen  int64         // XADD MAXLEN ~
	ttl     time.Duration // SET PX
	kind    string        // metric label
	// result, when set, receives the outcome (and the XADD entry id).
	result chan pubResult
}

type pubResult struct {
	offset string
	err    error
}

// publisher sends commands to Redis from one goroutine, in the order they
// were queued, sending what piled up during one round trip as the next
// pipeline. Callers never wait on Redis unless they ask to, and never hold a
// lock while they do.
type publisher struct {
	rdb    redis.UniversalClient
	m      *metrics
	errs   *throttledLog
	queue  chan *publication
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
	// before, when set, runs before each pipeline is sent (see
	// sharded.roomsWritten).
	before func()
	// ctx bounds every round trip; close cancels it when its own deadline
	// passes, so a dead Redis cannot hold the goroutine.
	ctx    context.Context
	cancel context.CancelFunc
}

func newPublisher(rdb redis.UniversalClient, size int, before func(), m *metrics, log *slog.Logger) *publisher {
	p := &publisher{
		rdb:    rdb,
		before: before,
		m:      m,
		errs:   newThrottledLog(log, 10*time.Second),
		queue:  make(chan *publication, size),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.run()
	return p
}

// send queues pub. With wait it waits for the outcome: Redis took it (and
// the stream offset XADD gave it) or an error.
func (p *publisher) send(pub *publication, wait bool) (string, error) {
	if wait {
		pub.result = make(chan pubResult, 1)
	}
	if p.closed.Load() {
		return "", ErrClosed
	}
	select {
	case p.queue <- pub:
	default:
		p.m.publishDropped.Inc()
		p.errs.log("adapter: publish dropped", "kind", pub.kind, "err", errQueueFull)
		return "", errQueueFull
	}
	if pub.result == nil {
		return "", nil
	}
	select {
	case r := <-pub.result:
		return r.offset, r.err
	case <-p.done:
		// Queued after the final flush: it will never be sent.
		select {
		case r := <-pub.result:
			return r.offset, r.err
		default:
			return "", ErrClosed
		}
	}
}

func (p *publisher) run() {
	defer close(p.done)
	batch := make([]*publication, 0, maxBatch)
	for {
		select {
		case first := <-p.queue:
			batch = p.fill(append(batch[:0], first))
			p.exec(batch)
		case <-p.stop:
			p.flush(batch)
			return
		}
	}
}

// fill adds what is already queued, without waiting.
func (p *publisher) fill(batch []*publication) []*publication {
	for len(batch) < maxBatch {
		select {
		case pub := <-p.queue:
			batch = append(batch, pub)
		default:
			return batch
		}
	}
	return batch
}

// flush sends what is left at close, then fails anything queued later.
func (p *publisher) flush(batch []*publication) {
	for {
		batch = p.fill(batch[:0])
		if len(batch) == 0 {
			return
		}
		p.exec(batch)
	}
}

func (p *publisher) exec(batch []*publication) {
	if p.before != nil {
		p.before()
	}
	ctx, cancel := context.WithTimeout(p.ctx, publishTimeout)
	defer cancel()
	cmds := make([]redis.Cmder, len(batch))
	_, _ = p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, pub := range batch {
			cmds[i] = pub.add(ctx, pipe)
		}
		return nil
	})
	for i, pub := range batch {
		r := pubResult{err: cmds[i].Err()}
		if r.err == nil {
			p.m.published.WithLabelValues(pub.kind).Inc()
			if x, ok := cmds[i].(*redis.StringCmd); ok {
				r.offset = x.Val()
			}
		} else {
			p.m.publishErrors.Inc()
			p.errs.log("adapter: publish failed", "kind", pub.kind, "key", pub.key, "err", r.err)
		}
		if pub.result != nil {
			pub.result <- r
		}
	}
}

func (pub *publication) add(ctx context.Context, pipe redis.Pipeliner) redis.Cmder {
	switch pub.op {
	case opSPublish:
		return pipe.SPublish(ctx, pub.key, pub.payload)
	case opXAdd:
		return pipe.XAdd(ctx, &redis.XAddArgs{Stream: pub.key, MaxLen: pub.maxLen, Approx: true, Values: pub.fields})
	case opSet:
		// PX always, as Node writes it (go-redis's Set would write EX for
		// whole seconds).
		return pipe.Do(ctx, "set", pub.key, pub.payload, "px", pub.ttl.Milliseconds())
	default:
		return pipe.Publish(ctx, pub.key, pub.payload)
	}
}

// close sends what is queued (until ctx is done) and stops the goroutine.
func (p *publisher) close(ctx context.Context) error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(p.stop)
	defer p.cancel()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		p.cancel()
		<-p.done
		return fmt.Errorf("adapter: closed before every queued message was published: %w", ctx.Err())
	}
}

// throttledLog logs the first of a run of errors at once, then at most one
// line per period with the number of errors in between, so an outage does
// not flood the logs.
type throttledLog struct {
	logger *slog.Logger
	every  time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newThrottledLog(l *slog.Logger, every time.Duration) *throttledLog {
	return &throttledLog{logger: l, every: every}
}

func (t *throttledLog) log(msg string, args ...any) {
	t.mu.Lock()
	now := time.Now()
	if now.Sub(t.last) < t.every {
		t.suppressed++
		t.mu.Unlock()
		return
	}
	n := t.suppressed
	t.last, t.suppressed = now, 0
	t.mu.Unlock()
	if n > 0 {
		args = append(args, "similar_since_last_line", n)
	}
	t.logger.Warn(msg, args...)
}
