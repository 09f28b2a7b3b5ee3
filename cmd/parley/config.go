package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/admin"
	"github.com/parley-chat/parley/server"
)

// config is the binary's configuration: flags, each with an environment
// variable as its fallback (a flag given on the command line wins).
type config struct {
	addr             string
	corsOrigins      []string
	logLevel         slog.Level
	maxMessageLength int
	// Cluster mode (redisURL set).
	redisURL      string
	redisCluster  bool
	adapter       string // "redis" (classic), "sharded" or "streams"
	sessionTTL    time.Duration
	historyLimit  int
	presenceLease time.Duration
	// Connection state recovery.
	recovery       bool
	recoveryWindow time.Duration
	// The Socket.IO Admin UI (admin set).
	admin                bool
	adminUsername        string
	adminPasswordHash    string
	adminAuth            bool
	adminReadOnly        bool
	adminMode            admin.Mode
	adminServerID        string
	adminHostedDashboard bool
}

// Adapters --adapter accepts.
const (
	adapterClassic = "redis"
	adapterSharded = "sharded"
	adapterStreams = "streams"
)

// option describes one flag and its environment variable.
type option struct {
	name, env, def, usage string
}

var options = []option{
	{"addr", "PARLEY_ADDR", ":3000", "TCP address to serve HTTP and Socket.IO on"},
	{"cors-origins", "PARLEY_CORS_ORIGINS", "http://localhost:8080", "comma-separated origins of pages on other sites allowed to connect (the page's own origin is always allowed)"},
	{"log-level", "PARLEY_LOG_LEVEL", "info", "log level: debug, info, warn or error"},
	{"max-message-length", "PARLEY_MAX_MESSAGE_LENGTH", "4096", "longest private message accepted, in characters"},
	{"redis-url", "PARLEY_REDIS_URL", "", "redis:// URL of the Redis shared by a cluster of nodes; empty runs one node on in-memory stores"},
	{"redis-cluster", "PARLEY_REDIS_CLUSTER", "off", "on: --redis-url names a Redis Cluster (redis://host:port?addr=host2:port2&addr=... lists more seed nodes), and keys get the hash tag {parley}"},
	{"adapter", "PARLEY_ADAPTER", adapterClassic, "how nodes exchange broadcasts: redis (classic Pub/Sub), sharded (sharded Pub/Sub, Redis 7+, for a Redis Cluster) or streams (Redis Streams, needed for --recovery across nodes)"},
	{"recovery", "PARLEY_RECOVERY", "off", "on: a client that lost its connection gets its session and the packets it missed back when it reconnects within --recovery-window (with --redis-url, on any node; needs --adapter streams)"},
	{"recovery-window", "PARLEY_RECOVERY_WINDOW", "2m", "how long a disconnected session can be recovered"},
	{"session-ttl", "PARLEY_SESSION_TTL", "24h", "how long sessions and message histories live in Redis after their last use"},
	{"history-limit", "PARLEY_HISTORY_LIMIT", "1000", "messages kept per user, the oldest dropped first"},
	{"presence-lease", "PARLEY_PRESENCE_LEASE", "15s", "how long a node counts as alive without renewing its presence lease; users of a node that dies go offline within 4/3 of it"},
	{"admin", "PARLEY_ADMIN", "off", "on: the Socket.IO Admin UI, its dashboard at /admin/ (needs --admin-username and --admin-password, or --admin-auth off)"},
	{"admin-username", "PARLEY_ADMIN_USERNAME", "", "the admin UI's username"},
	{"admin-password", "PARLEY_ADMIN_PASSWORD", "", "bcrypt hash of the admin UI's password, not the password itself (make one with: parley hash-password)"},
	{"admin-auth", "PARLEY_ADMIN_AUTH", "on", "off: anyone who reaches the server can use the admin UI, without credentials"},
	{"admin-readonly", "PARLEY_ADMIN_READONLY", "off", "on: dashboards watch, their commands (emit, join, leave, disconnect) are refused"},
	{"admin-mode", "PARLEY_ADMIN_MODE", string(admin.Production), "production (each node's stats every 2 s) or development (also every socket, room and event; costs per event)"},
	{"admin-server-id", "PARLEY_ADMIN_SERVER_ID", "", "this node's name in the dashboard (default: hostname#pid)"},
	{"admin-hosted-dashboard", "PARLEY_ADMIN_HOSTED_DASHBOARD", "off", "on: the dashboard hosted at " + admin.HostedDashboard + " may connect too (CORS)"},
}

// parseConfig reads flags from args with environment fallbacks from getenv.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(out)
	values := make(map[string]*string, len(options))
	for _, o := range options {
		def := o.def
		if v := getenv(o.env); v != "" {
			def = v
		}
		values[o.name] = fs.String(o.name, def, fmt.Sprintf("%s (env %s)", o.usage, o.env))
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: parley [flags]\n       parley hash-password < password-file\n\nParley serves the private-messaging chat over Socket.IO.\n\nFlags (each falls back to its environment variable):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return buildConfig(values)
}

func buildConfig(v map[string]*string) (config, error) {
	var c config
	var errs []error
	c.addr = *v["addr"]
	c.corsOrigins = splitList(*v["cors-origins"])
	if err := c.logLevel.UnmarshalText([]byte(*v["log-level"])); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	n, err := strconv.Atoi(*v["max-message-length"])
	if err != nil || n <= 0 {
		errs = append(errs, fmt.Errorf("--max-message-length: want a positive integer, got %q", *v["max-message-length"]))
	}
	c.maxMessageLength = n
	c.redisURL = *v["redis-url"]
	c.sessionTTL = positiveDuration(&errs, "session-ttl", *v["session-ttl"])
	c.presenceLease = positiveDuration(&errs, "presence-lease", *v["presence-lease"])
	if c.historyLimit, err = strconv.Atoi(*v["history-limit"]); err != nil || c.historyLimit <= 0 {
		errs = append(errs, fmt.Errorf("--history-limit: want a positive integer, got %q", *v["history-limit"]))
	}
	c.redisCluster = onOff(&errs, "redis-cluster", *v["redis-cluster"])
	c.recovery = onOff(&errs, "recovery", *v["recovery"])
	c.recoveryWindow = positiveDuration(&errs, "recovery-window", *v["recovery-window"])
	c.adapter = *v["adapter"]
	errs = append(errs, c.checkCluster())
	c.admin = onOff(&errs, "admin", *v["admin"])
	c.adminUsername = *v["admin-username"]
	c.adminPasswordHash = strings.TrimSpace(*v["admin-password"])
	c.adminAuth = onOff(&errs, "admin-auth", *v["admin-auth"])
	c.adminReadOnly = onOff(&errs, "admin-readonly", *v["admin-readonly"])
	c.adminMode = admin.Mode(*v["admin-mode"])
	c.adminServerID = *v["admin-server-id"]
	c.adminHostedDashboard = onOff(&errs, "admin-hosted-dashboard", *v["admin-hosted-dashboard"])
	errs = append(errs, c.checkAdmin())
	return c, errors.Join(errs...)
}

// checkAdmin refuses an admin UI that would be open by mistake or could
// never be logged into. The settings are checked with the admin UI off
// too, so that a bad one shows before the day it is turned on.
func (c config) checkAdmin() error {
	var errs []error
	if c.adminMode != admin.Production && c.adminMode != admin.Development {
		errs = append(errs, fmt.Errorf("--admin-mode: want %s or %s, got %q", admin.Production, admin.Development, c.adminMode))
	}
	if c.adminPasswordHash != "" {
		if _, err := bcrypt.Cost([]byte(c.adminPasswordHash)); err != nil {
			// Most likely the password itself: never echo it.
			errs = append(errs, errors.New("--admin-password: not a bcrypt hash ($2a$, $2b$ or $2y$...): it takes the hash of the password, not the password; make one with `parley hash-password`"))
		}
	}
	hasCredentials := c.adminUsername != "" || c.adminPasswordHash != ""
	switch {
	case !c.adminAuth && hasCredentials:
		errs = append(errs, errors.New("--admin-auth off with --admin-username or --admin-password: drop the credentials, or turn authentication on"))
	case c.admin && c.adminAuth && (c.adminUsername == "" || c.adminPasswordHash == ""):
		errs = append(errs, errors.New("--admin on needs credentials: set --admin-username and --admin-password (a bcrypt hash), or --admin-auth off to let anyone in"))
	}
	return errors.Join(errs...)
}

// adminConfig is the server's admin UI configuration, nil when it is off.
func (c config) adminConfig(log *slog.Logger) *server.AdminConfig {
	if !c.admin {
		return nil
	}
	return &server.AdminConfig{
		Config: admin.Config{
			Username:     c.adminUsername,
			PasswordHash: c.adminPasswordHash,
			NoAuth:       !c.adminAuth,
			ReadOnly:     c.adminReadOnly,
			Mode:         c.adminMode,
			ServerID:     c.adminServerID,
			Logger:       log,
		},
		HostedDashboard: c.adminHostedDashboard,
	}
}

// checkCluster refuses combinations that cannot work.
func (c config) checkCluster() error {
	switch c.adapter {
	case adapterClassic, adapterSharded, adapterStreams:
	default:
		return fmt.Errorf("--adapter: want redis, sharded or streams, got %q", c.adapter)
	}
	switch {
	case c.redisURL == "" && c.adapter != adapterClassic:
		return fmt.Errorf("--adapter %s needs --redis-url", c.adapter)
	case c.redisURL == "" && c.redisCluster:
		return errors.New("--redis-cluster needs --redis-url")
	case c.redisURL != "" && c.recovery && c.adapter != adapterStreams:
		return fmt.Errorf("--recovery with --redis-url needs --adapter streams: the %s adapter cannot restore a session on another node", c.adapter)
	}
	return nil
}

// onOff reads a switch: on/off, true/false, yes/no, 1/0.
func onOff(errs *[]error, name, s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "yes", "1":
		return true
	case "off", "false", "no", "0", "":
		return false
	}
	*errs = append(*errs, fmt.Errorf("--%s: want on or off, got %q", name, s))
	return false
}

func positiveDuration(errs *[]error, name, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		*errs = append(*errs, fmt.Errorf("--%s: want a positive duration such as 30s or 24h, got %q", name, s))
	}
	return d
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
