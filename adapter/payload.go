package adapter

import (
	"errors"
	"fmt"

	"github.com/parley-chat/parley/internal/wire"
)

// This file is what the adapter does with event arguments (payloads): every
// payload it sends is first made what wire.Payload describes, once; those
// values are encoded for the other nodes, and the copy for this node's
// clients is built from the same values (wire.ClientArgs, as every node
// does with what it receives), so the copies of one broadcast never differ.
// A payload the cluster cannot carry is refused before anything is
// delivered or published.

// ErrUnencodable is wrapped by the error of an operation refused because a
// value in its arguments cannot be represented on the cluster: a function,
// a channel, a complex number, a struct whose content would be lost, a
// reader that fails, a value nested more than 1,000 levels deep or cyclic.
// The operation reached no node and no client, this one included.
var ErrUnencodable = errors.New("adapter: a value cannot be represented on the cluster")

// unencodable marks a transport's encoding failure, which the core refuses
// (nothing delivered) where a Redis failure would not stop local delivery.
func unencodable(err error) error {
	if errors.Is(err, ErrUnencodable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnencodable, err)
}

// refuse counts and logs an operation refused for its payload, and returns
// the error its caller gets, naming the namespace and the event.
func (c *core) refuse(kind wire.Kind, nsp string, data []any, err error) error {
	event := eventName(data)
	err = unencodable(err)
	c.m.encodeErrors.WithLabelValues(kind.String()).Inc()
	c.unencodable.log("adapter: refused a message the cluster cannot carry; it was delivered nowhere",
		"kind", kind.String(), "nsp", nsp, "event", event, "err", err)
	return fmt.Errorf("adapter: %s of %q in namespace %s: %w", kind, event, nsp, err)
}

// refuseResponse counts and logs an answer to another node that cannot be
// encoded (a client's or a listener's ack argument); the requester then
// times out, as it would without the answer.
func (c *core) refuseResponse(nsp string, r *wire.Response, err error) {
	c.m.encodeErrors.WithLabelValues("response").Inc()
	c.unencodable.log("adapter: an answer to another node cannot be encoded and was not sent",
		"nsp", nsp, "request", r.RequestID, "err", err)
}

// refuseSession counts and logs a session whose data cannot be stored for
// recovery; its client then gets a new session when it reconnects.
func (c *core) refuseSession(s wire.Session, err error) {
	c.m.encodeErrors.WithLabelValues("session").Inc()
	c.unencodable.log("adapter: a session's data cannot be encoded; it will not be recovered", "sid", s.SID, "err", err)
}

// eventName is the event of a payload, for logs.
func eventName(data []any) string {
	if len(data) > 0 {
		if ev, ok := data[0].(string); ok {
			return ev
		}
	}
	return ""
}

// fromCluster makes a payload another node sent what wire.Payload
// describes, or with forClients what wire.ClientArgs makes of that (a
// Node.js peer's NaN or Date, for instance, as that peer's clients get
// them). Decoded values can only fail for their depth; such a message is
// counted as malformed and dropped.
func (a *NamespaceAdapter) fromCluster(data []any, forClients bool) ([]any, bool) {
	walk := wire.Payload
	if forClients {
		walk = wire.ClientPayload
	}
	out, err := walk(data)
	if err != nil {
		a.core.malformed(a.name, err, 0)
		return nil, false
	}
	return out, true
}

// fromClusterValue is fromCluster for one value (an ack's argument).
func (a *NamespaceAdapter) fromClusterValue(v any) (any, bool) {
	out, err := wire.PayloadValue(v)
	if err != nil {
		a.core.malformed(a.name, err, 0)
		return nil, false
	}
	return out, true
}
