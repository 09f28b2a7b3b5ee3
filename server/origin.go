package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/parley-chat/parley/engineio"
)

// originPolicy decides which browser pages may talk to the chat. A request
// without an Origin header (a native client, curl, another server) is always
// let through: the policy protects users of browsers from other sites, it does
// not authenticate. Browsers do not apply CORS to WebSocket handshakes, so
// the policy refuses those itself.
type originPolicy struct {
	origins map[string]bool
}

func newOriginPolicy(list []string) originPolicy {
	p := originPolicy{origins: make(map[string]bool, len(list))}
	for _, o := range list {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			p.origins[strings.ToLower(o)] = true
		}
	}
	return p
}

// allowed reports whether a page from another site may connect (the CORS
// answers use it).
func (p originPolicy) allowed(origin string) bool {
	return p.origins[strings.ToLower(origin)]
}

// check is the engine's AllowRequest: a page served by the host the request
// is addressed to, or by an allowed origin, may open a session.
func (p originPolicy) check(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || p.allowed(origin) {
		return nil
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	return engineio.ErrForbidden
}
