package engine

import (
	"net/http"
	"net/url"
	"strings"
)

// originPolicy decides which browser pages may talk to the engine. A request
// without an Origin header (a native client, curl, another server) is always
// let through: the policy protects users of browsers from other sites, it does
// not authenticate.
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

// allowed reports whether a page from another site may connect.
func (p originPolicy) allowed(origin string) bool {
	return p.origins[strings.ToLower(origin)]
}

// check classifies a request: ok is false when a browser page from a site
// that is not allowed made it. sameOrigin is true when the page was served by
// the host the request is addressed to.
func (p originPolicy) check(r *http.Request) (ok, sameOrigin bool) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true, false
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return true, true
	}
	return p.allowed(origin), false
}
