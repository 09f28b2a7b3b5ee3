package engineio

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/parley-chat/parley/internal/timers"
	"github.com/parley-chat/parley/wstransport"
)

// Transport names, as clients ask for them.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Config configures a Server. The zero value works and gives Node's
// engine.io 6 defaults.
type Config struct {
	// PingInterval is how often the server pings a client. default: 25s
	PingInterval time.Duration
	// PingTimeout is how long a client may take to answer a ping before
	// its session is closed ("ping timeout"). default: 20s
	PingTimeout time.Duration
	// UpgradeTimeout is how long a started upgrade to WebSocket may take
	// before the new transport is dropped. default: 10s
	UpgradeTimeout time.Duration
	// MaxPayload is the largest message or polling request body a client
	// may send, in bytes (Node's maxHttpBufferSize): larger polling bodies
	// get 413, larger WebSocket messages close the connection with 1009.
	// default: 1,000,000
	MaxPayload int64
	// MaxQueue bounds what may wait for a client (a polling session
	// between two polls, or a WebSocket the kernel does not take at once):
	// a message written while MaxQueue bytes or more wait closes the
	// session as a slow consumer. A single message larger than MaxQueue
	// still goes. default: 1 MiB
	MaxQueue int
	// Transports are the transports clients may use. default: polling and
	// websocket
	Transports []string
	// DisableUpgrades stops polling sessions from upgrading to WebSocket
	// (Node's allowUpgrades false). default: false
	DisableUpgrades bool
	// CompressionThreshold is the size from which polling responses are
	// compressed (gzip or deflate, as the client accepts); negative turns
	// compression off. default: 1024
	CompressionThreshold int
	// CORS, when set, answers cross-origin requests with CORS headers and
	// preflight requests with 204, as the cors package does for Node.
	// default: none
	CORS *CORS
	// AllowRequest, when set, decides whether a new session may open: an
	// error refuses the handshake with 403 and code 4 (a WebSocket
	// handshake with 400), its text as the message. Requests of existing
	// sessions are not asked. default: every request is allowed
	AllowRequest func(r *http.Request) error
	// Cookie, when set, is sent with every handshake response, holding the
	// session id (for load balancers that pin sessions with it). Its Value
	// is ignored. default: none
	Cookie *http.Cookie
	// InitialPacket, when set, is sent as a message right after the open
	// packet. default: none
	InitialPacket []byte
	// WebSocket reads and writes WebSocket connections. Its MaxPayload,
	// MaxQueue and Logger default to the Server's. default: a new
	// wstransport.Server, shut down with the Server
	WebSocket *wstransport.Server
	// Timers holds the heartbeats and upgrade timeouts. default: a new
	// timers.Heap
	Timers *timers.Heap
	// Logger receives the server's log lines. default: slog.Default()
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1_000_000
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 1 << 20
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{Polling, WebSocket}
	}
	if c.CompressionThreshold == 0 {
		c.CompressionThreshold = 1024
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) allows(transport string) bool {
	for _, t := range c.Transports {
		if t == transport {
			return true
		}
	}
	return false
}
