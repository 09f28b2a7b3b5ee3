package server

import (
	"fmt"
	"net/http"
	"os"

	"github.com/parley-chat/parley/admin"
	"github.com/parley-chat/parley/admin/dashboard"
)

// AdminConfig turns on the Socket.IO Admin UI of a node: the admin
// namespace (package admin) on the chat's Socket.IO server and the
// dashboard at /admin/.
type AdminConfig struct {
	// Config is what admin.Instrument takes: credentials or NoAuth,
	// ReadOnly, Mode, Sessions, Logger. Its ServerID defaults to
	// "hostname#pid" here rather than the host name, so that nodes sharing
	// a host (or a container image's host name) stay apart in the
	// dashboard; its Logger to the server's. A cluster should share
	// Sessions (admin.NewRedisStore), for a dashboard's session to hold on
	// every node behind the load balancer.
	admin.Config
	// HostedDashboard lets the dashboard the Socket.IO project hosts
	// (admin.HostedDashboard, https://admin.socket.io) connect, besides
	// the one at /admin/. Browsers enforce origins, not the server's
	// credentials: the hosted page can then open chat connections too,
	// as any non-browser client can.
	HostedDashboard bool
}

// dashboardPath is where the dashboard is served; its admin namespace is
// the default "/admin", reached through /socket.io/ like the chat.
const dashboardPath = "/admin/"

// defaultServerID names a node in the dashboard: its host and process.
func defaultServerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "parley"
	}
	return fmt.Sprintf("%s#%d", host, os.Getpid())
}

// adminRoutes adds the dashboard to mux: /admin/ and its files, and /admin
// redirected there, since the page loads its files by relative paths.
func adminRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+dashboardPath, http.StripPrefix("/admin", dashboard.Handler()))
	mux.Handle("GET /admin", http.RedirectHandler(dashboardPath, http.StatusMovedPermanently))
}

// startAdmin instruments the chat's Socket.IO server, when the admin UI is
// on. Serve calls it before it accepts connections, so that every client is
// counted from its first packet, and closes the admin UI when it stops.
func (s *Server) startAdmin() error {
	if s.cfg.Admin == nil {
		return nil
	}
	cfg := s.cfg.Admin.Config
	if cfg.ServerID == "" {
		cfg.ServerID = defaultServerID()
	}
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	if cfg.Mode == "" {
		cfg.Mode = admin.Production // admin's default, named for the log line
	}
	a, err := admin.Instrument(s.io, cfg)
	if err != nil {
		return err
	}
	s.admin = a
	s.log.Info("parley: admin UI on", "dashboard", dashboardPath, "mode", cfg.Mode, "read_only", cfg.ReadOnly,
		"auth", !cfg.NoAuth, "server_id", cfg.ServerID, "hosted_dashboard", s.cfg.Admin.HostedDashboard)
	return nil
}

// closeAdmin stops the admin UI's reports and disconnects the dashboards.
func (s *Server) closeAdmin() error {
	if s.admin == nil {
		return nil
	}
	return s.admin.Close()
}
