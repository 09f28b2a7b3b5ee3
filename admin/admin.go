package admin

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/socketio"
)

// Admin is the admin UI of a server, made by Instrument.
type Admin struct {
	io       *socketio.Server
	nsp      *socketio.Namespace
	cfg      Config
	log      *slog.Logger
	hash     []byte
	features []string
	traffic  *socketio.Traffic

	// ctx ends with Close: it bounds what runs on behalf of dashboards.
	ctx    context.Context
	cancel context.CancelFunc

	// closed is set by Close, under mu so that goTracked adds to wg only
	// before Close waits for it.
	closed atomic.Bool
	mu     sync.Mutex
	wg     sync.WaitGroup // the stats loop and the goroutines sending all_sockets

	// last holds the traffic counts of the previous server_stats; only the
	// stats loop touches it.
	last socketio.TrafficCounts
}

// Features of the admin UI protocol, as instrument lists them in "config".
const (
	featureEmit             = "EMIT"
	featureJoin             = "JOIN"
	featureLeave            = "LEAVE"
	featureDisconnect       = "DISCONNECT"
	featureMJoin            = "MJOIN"
	featureMLeave           = "MLEAVE"
	featureMDisconnect      = "MDISCONNECT"
	featureAggregatedEvents = "AGGREGATED_EVENTS"
	featureAllEvents        = "ALL_EVENTS"
)

// Instrument sets up the admin UI on io: the admin namespace and its
// authentication, the hooks that report what happens, and the stats sent
// every 2 s until Close. Call it once per server, before clients connect
// for them to be reported from their first event.
func Instrument(io *socketio.Server, cfg Config) (*Admin, error) {
	cfg, err := cfg.checked(io.Config().Logger)
	if err != nil {
		return nil, err
	}
	a := &Admin{io: io, cfg: cfg, log: cfg.Logger, hash: []byte(cfg.PasswordHash)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	if !cfg.ReadOnly {
		// Socket.IO 4 has the operations of every feature, on every node.
		a.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect, featureMJoin, featureMLeave, featureMDisconnect}
	}
	a.features = append(a.features, featureAggregatedEvents)
	if cfg.Mode == Development {
		a.features = append(a.features, featureAllEvents)
	}
	a.nsp = io.Of(cfg.Namespace)
	if !cfg.NoAuth {
		a.nsp.Use(a.authenticate)
	} else {
		a.log.Warn("admin: authentication is off: anyone can connect to the admin namespace", "nsp", cfg.Namespace)
	}
	a.nsp.OnConnection(a.onDashboard)
	a.traffic = io.CountTraffic()
	if cfg.Mode == Development {
		a.watch()
	}
	a.emitStats(time.Now())
	a.wg.Add(1)
	go a.statsLoop()
	return a, nil
}

// Namespace returns the admin namespace.
func (a *Admin) Namespace() *socketio.Namespace { return a.nsp }

// Close stops the admin UI: the stats stop, the hooks fall silent, the
// dashboards are disconnected and new ones refused. The server goes on.
// Close returns once the admin UI's goroutines have ended.
func (a *Admin) Close() error {
	a.mu.Lock()
	if a.closed.Load() {
		a.mu.Unlock()
		return nil
	}
	a.closed.Store(true)
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
	for _, s := range a.nsp.LocalSockets() {
		s.Disconnect(false)
	}
	return nil
}

// isClosed reports whether Close was called.
func (a *Admin) isClosed() bool { return a.closed.Load() }

// goTracked runs f on a goroutine Close waits for, unless the admin UI is
// closed.
func (a *Admin) goTracked(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed.Load() {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// onDashboard is the admin namespace's connection handler: the session of
// a dashboard that logged in with credentials, its commands, the
// configuration, and in development mode the list of sockets.
func (a *Admin) onDashboard(s *socketio.Socket) {
	if a.isClosed() {
		s.Disconnect(false)
		return
	}
	if !a.cfg.NoAuth {
		a.startSession(s)
	}
	if !a.cfg.ReadOnly {
		a.handleCommands(s)
	}
	_ = s.Emit("config", map[string]any{"supportedFeatures": a.features})
	if a.cfg.Mode == Development {
		a.goTracked(func() { a.sendAllSockets(s) })
	}
}

// emit broadcasts an event to the dashboards of every node, through the
// admin namespace's adapter.
func (a *Admin) emit(ev string, args ...any) {
	if a.isClosed() {
		return
	}
	if err := a.nsp.Emit(ev, args...); err != nil {
		a.log.Warn("admin: emitting to the dashboards", "event", ev, "err", err)
	}
}
