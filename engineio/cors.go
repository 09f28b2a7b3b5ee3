package engineio

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CORS are the cross-origin answers of a Server, as the cors package gives
// them to Node's engine.io: which origins may read responses, with or
// without credentials, and the answers to preflight requests. CORS only adds
// headers; a browser enforces them. To refuse requests from other origins
// (WebSocket handshakes included, which browsers send regardless), use
// Config.AllowRequest.
type CORS struct {
	// Origins lists the origins (scheme://host[:port]) allowed; "*" allows
	// any. default: any
	Origins []string
	// AllowOrigin, when set, decides instead of Origins.
	AllowOrigin func(origin string) bool
	// Credentials lets pages send cookies (Access-Control-Allow-Credentials).
	// The allowed origin is then always named, never "*".
	// default: false
	Credentials bool
	// Headers are the request headers a preflight allows. default: those
	// the preflight asks for
	Headers []string
	// MaxAge is how long a browser may cache a preflight answer.
	// default: not sent
	MaxAge time.Duration
}

// apply adds the CORS headers to the response; it answers a preflight
// request (OPTIONS) itself and reports so.
func (c *CORS) apply(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	origin := r.Header.Get("Origin")
	switch {
	case c.any() && !c.Credentials:
		h.Set("Access-Control-Allow-Origin", "*")
	case origin != "" && c.Allows(origin):
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	default:
		h.Add("Vary", "Origin")
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
	if len(c.Headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.Headers, ","))
	} else if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
		h.Set("Access-Control-Allow-Headers", asked)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}

func (c *CORS) any() bool {
	return c.AllowOrigin == nil && (len(c.Origins) == 0 || slices.Contains(c.Origins, "*"))
}

// Allows reports whether the pages of origin may read the server's
// answers.
func (c *CORS) Allows(origin string) bool {
	if c.AllowOrigin != nil {
		return c.AllowOrigin(origin)
	}
	if c.any() {
		return true
	}
	for _, o := range c.Origins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}
