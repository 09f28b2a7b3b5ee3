package adapter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// streamReader reads one stream on a connection of its own: XREAD BLOCK
// holds its connection for up to BlockTime, which must not delay the Node's
// other commands (see socket.io-redis-streams-adapter and ioredis issues on
// shared blocking connections). Like Node's adapter, which duplicates the
// client it is given, the reader has its own one-connection client, made
// from the options of the Node's client (of the stream's master, on a Redis
// Cluster).
//
// It starts after the stream's last entry (Node starts at "$") and always
// asks for the entries after the last one it read, so after an error, a
// lost connection or a Redis restart it resumes where it stopped: nothing
// still in the stream is skipped. (Entries trimmed meanwhile by other
// nodes' MAXLEN are gone, as in Node.)
type streamReader struct {
	t      *streams
	stream string

	mu     sync.Mutex
	last   string        // id of the last entry read; "" until the start is known
	err    error         // why the reader is not reading; nil while it is
	client *redis.Client // the reader's own, one connection
	conn   *redis.Conn   // that connection
	node   *redis.Client // the Node's client of the same server, to unblock conn
	cid    int64         // conn's CLIENT ID

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

var errReaderStarting = errors.New("adapter: stream reader starting")

func startStreamReader(t *streams, stream string) *streamReader {
	r := &streamReader{t: t, stream: stream, err: errReaderStarting, done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go r.run()
	return r
}

func (r *streamReader) run() {
	defer close(r.done)
	defer r.dropConn()
	backoff := minBackoff
	for r.ctx.Err() == nil {
		if err := r.read(); err != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.fail(err)
			r.dropConn()
			wait := backoff/2 + rand.N(backoff/2+1)
			select {
			case <-time.After(wait):
			case <-r.ctx.Done():
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
	}
}

// read runs one XREAD (connecting first if needed) and dispatches what it
// returns, in order.
func (r *streamReader) read() error {
	conn, err := r.connect()
	if err != nil {
		return err
	}
	r.ok() // connected: the XREAD below may block for BlockTime
	cfg := r.t.cfg
	res, err := conn.XRead(r.ctx, &redis.XReadArgs{
		Streams: []string{r.stream, r.position()}, Count: cfg.ReadCount, Block: cfg.BlockTime,
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for _, s := range res {
		for _, e := range s.Messages {
			r.t.onEntry(r.stream, e)
			r.mu.Lock()
			r.last = e.ID
			r.mu.Unlock()
		}
	}
	return nil
}

// connect opens the reader's connection, on the master of the stream's slot
// for a Redis Cluster, and on the first connection finds where the stream
// ends.
func (r *streamReader) connect() (*redis.Conn, error) {
	r.mu.Lock()
	conn := r.conn
	r.mu.Unlock()
	if conn != nil {
		return conn, nil
	}
	ctx, cancel := context.WithTimeout(r.ctx, commandTimeout)
	defer cancel()
	var node *redis.Client
	switch c := r.t.rdb.(type) {
	case *redis.Client:
		node = c
	case *redis.ClusterClient:
		c.ReloadState(ctx) // after a failover, find the new master soon
		n, err := c.MasterForKey(ctx, r.stream)
		if err != nil {
			return nil, err
		}
		node = n
	}
	client := redis.NewClient(readerOptions(node.Options()))
	conn = client.Conn()
	cid, err := conn.ClientID(ctx).Result()
	if err == nil && r.position() == "" {
		err = r.findEnd(ctx, conn)
	}
	if err != nil {
		_ = conn.Close()
		_ = client.Close()
		return nil, err
	}
	r.mu.Lock()
	r.client, r.conn, r.node, r.cid = client, conn, node, cid
	r.mu.Unlock()
	return conn, nil
}

// readerOptions copies the options of the Node's client for a reader: one
// connection, and no maintenance-notification handshake (go-redis 9.23
// rewrites that option, shared by a client and its Conn, when the handshake
// fails, which the race detector reports).
func readerOptions(o *redis.Options) *redis.Options {
	c := *o
	c.PoolSize, c.MinIdleConns, c.MaxIdleConns, c.MaxActiveConns = 1, 0, 1, 1
	c.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return &c
}

// findEnd starts the reader after the stream's last entry ("0-0" for an
// empty or missing stream: every entry added later is after it).
func (r *streamReader) findEnd(ctx context.Context, conn *redis.Conn) error {
	last, err := conn.XRevRangeN(ctx, r.stream, "+", "-", 1).Result()
	if err != nil {
		return err
	}
	start := "0-0"
	if len(last) > 0 {
		start = last[0].ID
	}
	r.mu.Lock()
	r.last = start
	r.mu.Unlock()
	return nil
}

func (r *streamReader) dropConn() {
	r.mu.Lock()
	conn, client := r.conn, r.client
	r.conn, r.client, r.node = nil, nil, nil
	r.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
		_ = client.Close()
	}
}

func (r *streamReader) position() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *streamReader) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *streamReader) ok() {
	r.mu.Lock()
	was := r.err
	r.err = nil
	r.mu.Unlock()
	if was != nil {
		if was != errReaderStarting {
			r.t.c.log.Info("adapter: reading the stream again", "stream", r.stream, "from", r.position())
		}
		r.t.stateChanged()
	}
}

func (r *streamReader) fail(err error) {
	r.t.c.m.readErrors.Inc()
	r.mu.Lock()
	was := r.err
	r.err = fmt.Errorf("adapter: stream %s: %w", r.stream, err)
	r.mu.Unlock()
	r.t.c.errs.log("adapter: reading the stream failed, retrying from the last entry read", "stream", r.stream, "from", r.position(), "err", err)
	if was == nil {
		r.t.stateChanged()
	}
}

// stop ends the reader: go-redis does not interrupt a blocked XREAD when
// its context ends, so the connection is unblocked with CLIENT UNBLOCK
// until the reader notices.
func (r *streamReader) stop() {
	r.cancel()
	for {
		r.mu.Lock()
		node, cid := r.node, r.cid
		r.mu.Unlock()
		if node != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = node.ClientUnblock(ctx, cid).Err()
			cancel()
		}
		select {
		case <-r.done:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}
