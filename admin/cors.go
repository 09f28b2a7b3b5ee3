package admin

import (
	"strings"

	"github.com/parley-chat/parley/engineio"
)

// HostedDashboard is the origin of the dashboard the Socket.IO project
// hosts.
const HostedDashboard = "https://admin.socket.io"

// AllowHostedDashboard returns the CORS answers of a server whose admin UI
// the hosted dashboard may use: those of c (nil: no other origin), plus
// HostedDashboard. The dashboard sends credentials (for load balancers'
// sticky cookies), so credentials are allowed, for every allowed origin:
// an origin c allowed as "*" is then named in the answer instead. Set it
// as the engine's CORS before making the server:
//
//	cfg.Engine.CORS = admin.AllowHostedDashboard(cfg.Engine.CORS)
//	io := socketio.New(cfg)
func AllowHostedDashboard(c *engineio.CORS) *engineio.CORS {
	out := &engineio.CORS{}
	if c != nil {
		*out = *c
	}
	out.Credentials = true
	out.Origins = nil
	out.AllowOrigin = func(origin string) bool {
		return strings.EqualFold(origin, HostedDashboard) || (c != nil && c.Allows(origin))
	}
	return out
}
