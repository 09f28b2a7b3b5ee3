package socketio

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Traffic counts what a server's clients send and receive: Engine.IO
// sessions opened and closed (by reason), and Socket.IO packets and their
// bytes each way, a binary attachment being a packet of its own. These are
// the aggregated events of Node's admin UI. Server.CountTraffic starts the
// counting; a server that never called it counts nothing and pays a nil
// check per packet. The counters are striped over cache lines by client,
// so that clients read on different cores seldom write the same line, and
// a broadcast counts its recipients once, not one by one.
type Traffic struct {
	opened  atomic.Uint64
	stripes [trafficStripes]trafficStripe

	mu     sync.Mutex
	closed map[string]uint64
}

// trafficStripes is the number of stripes; a power of two.
const trafficStripes = 16

// trafficStripe is one cache line of counters.
type trafficStripe struct {
	packetsIn, bytesIn, packetsOut, bytesOut atomic.Uint64
	_                                        [64 - 4*8]byte
}

// TrafficCounts are the totals of a Traffic since counting started.
type TrafficCounts struct {
	// Opened counts the Engine.IO sessions opened.
	Opened uint64
	// Closed counts the sessions closed, by Engine.IO close reason
	// ("transport close", "ping timeout", ...).
	Closed map[string]uint64
	// PacketsIn and BytesIn count the packets clients sent and their
	// bytes; PacketsOut and BytesOut those sent to clients.
	PacketsIn, BytesIn, PacketsOut, BytesOut uint64
}

// CountTraffic starts counting the server's traffic, if it has not
// started, and returns the counters.
func (s *Server) CountTraffic() *Traffic {
	var t *Traffic
	s.observe(func(o *observers) {
		if o.traffic == nil {
			o.traffic = &Traffic{closed: make(map[string]uint64)}
		}
		t = o.traffic
	})
	return t
}

// traffic returns the counters, or nil when nothing is counted.
func (s *Server) traffic() *Traffic {
	if o := s.obs.Load(); o != nil {
		return o.traffic
	}
	return nil
}

// Counts returns the totals.
func (t *Traffic) Counts() TrafficCounts {
	c := TrafficCounts{Opened: t.opened.Load()}
	for i := range t.stripes {
		st := &t.stripes[i]
		c.PacketsIn += st.packetsIn.Load()
		c.BytesIn += st.bytesIn.Load()
		c.PacketsOut += st.packetsOut.Load()
		c.BytesOut += st.bytesOut.Load()
	}
	t.mu.Lock()
	c.Closed = maps.Clone(t.closed)
	t.mu.Unlock()
	return c
}

// stripe picks the counters of a client by its session id, which is
// random.
func (t *Traffic) stripe(sid string) *trafficStripe {
	if sid == "" {
		return &t.stripes[0]
	}
	return &t.stripes[sid[0]&(trafficStripes-1)]
}

func (t *Traffic) received(sid string, size int) {
	st := t.stripe(sid)
	st.packetsIn.Add(1)
	st.bytesIn.Add(uint64(size))
}

func (t *Traffic) sent(sid string, packets, size int) {
	st := t.stripe(sid)
	st.packetsOut.Add(uint64(packets))
	st.bytesOut.Add(uint64(size))
}

func (t *Traffic) sessionClosed(reason string) {
	t.mu.Lock()
	t.closed[reason]++
	t.mu.Unlock()
}
