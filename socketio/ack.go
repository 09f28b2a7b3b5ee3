package socketio

import (
	"errors"
	"time"

	"github.com/parley-chat/parley/internal/timers"
)

// Ack answers an event whose sender asked for an answer. Its zero value
// (no answer asked) ignores Send.
type Ack struct {
	r *ackReply
}

// ackReply is where an answer goes: a socket's ACK packet, or a function
// (a cluster request's reply).
type ackReply struct {
	s    *Socket
	id   int64
	send func(args []any) error
	sent bool
}

// ErrAckSent is returned by a second Ack.Send: an event is answered once.
var ErrAckSent = errors.New("socketio: ack already sent")

// Requested reports whether the sender asked for an answer.
func (a Ack) Requested() bool { return a.r != nil }

// Send answers the event with args. It does nothing (and returns nil) when
// no answer was asked; a second call returns ErrAckSent. Call it from the
// event's handler or later, from any goroutine, once.
func (a Ack) Send(args ...any) error {
	r := a.r
	if r == nil {
		return nil
	}
	if r.s != nil {
		r.s.mu.Lock()
	}
	sent := r.sent
	r.sent = true
	if r.s != nil {
		r.s.mu.Unlock()
	}
	if sent {
		return ErrAckSent
	}
	if r.send != nil {
		return r.send(args)
	}
	ok, err := sendEvent(r.s.cl, PacketAck, r.s.nsp.name, r.id, "", args, false)
	if err != nil {
		return err
	}
	if !ok {
		return errNotConnected
	}
	return nil
}

// ErrTimeout is given to ack callbacks whose answer did not come in time.
var ErrTimeout = errors.New("socketio: operation has timed out")

// ackWaiter is an emit waiting for its client's answer.
type ackWaiter struct {
	s     *Socket
	id    int64
	fn    func(Args, error)
	timer timers.Timer
}

// Expire implements timers.Expirer: the answer did not come in time.
func (w *ackWaiter) Expire() {
	if w.s.takeAck(w.id) == w {
		go w.fn(Args{}, ErrTimeout) // callbacks must not hold the timer goroutine
	}
}

func (w *ackWaiter) cancel(srv *Server, _ int64, err error) {
	srv.timers.Stop(&w.timer)
	go w.fn(Args{}, err)
}

// addAck registers the callback of ack id; false when the socket is not
// connected.
func (s *Socket) addAck(id int64, timeout time.Duration, fn func(Args, error)) bool {
	w := &ackWaiter{s: s, id: id, fn: fn}
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return false
	}
	if s.acks == nil {
		s.acks = make(map[int64]*ackWaiter)
	}
	s.acks[id] = w
	s.mu.Unlock()
	if timeout > 0 {
		s.nsp.srv.timers.Schedule(&w.timer, timeout, w)
	}
	return true
}

// takeAck removes and returns the waiter of id.
func (s *Socket) takeAck(id int64) *ackWaiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.acks[id]
	if w != nil {
		delete(s.acks, id)
		if len(s.acks) == 0 {
			s.acks = nil
		}
	}
	return w
}

func (s *Socket) dropAck(id int64) {
	if w := s.takeAck(id); w != nil {
		s.nsp.srv.timers.Stop(&w.timer)
	}
}

// onAck delivers a client's answer.
func (s *Socket) onAck(id int64, args Args) {
	w := s.takeAck(id)
	if w == nil {
		return // unknown or timed out, as Node ignores it
	}
	s.nsp.srv.timers.Stop(&w.timer)
	w.fn(args, nil)
}
