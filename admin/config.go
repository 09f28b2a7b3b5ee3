package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Mode is what the admin UI reports.
type Mode string

const (
	// Production sends the stats of each node every 2 s, with the counts
	// of connections, disconnections, packets and bytes (the dashboard's
	// charts).
	Production Mode = "production"
	// Development adds the list of sockets and every change to it: sockets
	// connecting, updated, disconnecting, joining and leaving rooms, and
	// each event they receive and send.
	Development Mode = "development"
)

// Config configures Instrument. Credentials are required unless NoAuth is
// set; every other field's zero value gives a default.
type Config struct {
	// Namespace is the admin namespace dashboards connect to.
	// default: "/admin"
	Namespace string
	// Username and PasswordHash are the credentials dashboards log in with
	// (instrument's auth {type: "basic"}): PasswordHash is a bcrypt hash
	// of the password ($2a$, $2b$ or $2y$), such as
	// `htpasswd -bnBC 10 "" secret | tr -d ':\n'` prints.
	Username     string
	PasswordHash string
	// NoAuth lets anyone connect to the admin namespace (instrument's
	// auth: false). It must be set explicitly when there are no
	// credentials, and not with them.
	NoAuth bool
	// ReadOnly refuses the dashboards' commands: they can watch, not act.
	// default: false
	ReadOnly bool
	// Mode is Production or Development. default: Production (Node's
	// default follows NODE_ENV and is development without it)
	Mode Mode
	// ServerID names this node in the dashboard. Nodes of one cluster need
	// different ids: two sharing a host need one of their own.
	// default: the host name, as instrument outside a Node cluster worker
	ServerID string
	// Sessions keeps the session ids of logged-in dashboards, with which
	// they log in again without credentials. Nodes behind a load balancer
	// should share one (NewRedisStore), for a dashboard reconnecting to
	// another node.
	// default: NewMemoryStore(24 * time.Hour)
	Sessions SessionStore
	// Logger receives the admin UI's log lines: warnings, and the commands
	// dashboards send (at info level). default: the server's logger
	Logger *slog.Logger

	// statsInterval is how often server_stats goes out; 2 s as in Node,
	// shorter in tests.
	statsInterval time.Duration
}

// statsInterval is instrument's period of server_stats.
const statsInterval = 2 * time.Second

// sessionTTL is how long a session id of the default store lasts (the
// default of instrument's RedisStore; its InMemoryStore keeps them
// forever).
const sessionTTL = 24 * time.Hour

// checked validates c and fills in the defaults.
func (c Config) checked(serverLog *slog.Logger) (Config, error) {
	switch {
	case c.NoAuth && (c.Username != "" || c.PasswordHash != ""):
		return c, errors.New("admin: NoAuth is set along with credentials")
	case !c.NoAuth && (c.Username == "" || c.PasswordHash == ""):
		return c, errors.New("admin: a username and a bcrypt password hash are required, or NoAuth set explicitly")
	}
	if !c.NoAuth {
		if _, err := bcrypt.Cost([]byte(c.PasswordHash)); err != nil {
			return c, fmt.Errorf("admin: the password hash is not a valid bcrypt hash: %w", err)
		}
	}
	if c.Namespace == "" {
		c.Namespace = "/admin"
	}
	if c.Namespace[0] != '/' {
		c.Namespace = "/" + c.Namespace
	}
	switch c.Mode {
	case "":
		c.Mode = Production
	case Production, Development:
	default:
		return c, fmt.Errorf("admin: mode %q is neither %q nor %q", c.Mode, Production, Development)
	}
	if c.ServerID == "" {
		c.ServerID = hostname()
	}
	if c.Sessions == nil {
		c.Sessions = NewMemoryStore(sessionTTL)
	}
	if c.Logger == nil {
		c.Logger = serverLog
	}
	if c.statsInterval <= 0 {
		c.statsInterval = statsInterval
	}
	return c, nil
}

// hostname returns the host's name, or "" when the system does not tell.
func hostname() string {
	h, _ := os.Hostname()
	return h
}
