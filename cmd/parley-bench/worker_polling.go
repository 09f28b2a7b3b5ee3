package main

import (
	"bytes"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// openPolling opens a long-polling client that counts broadcasts and takes
// part in the polling echo once it starts.
func (p *clientProc) openPolling(url string, ip net.IP, timeout time.Duration) (func() bool, error) {
	c, err := dialPolling(url, ip, timeout)
	if err != nil {
		return nil, err
	}
	c.onEvent = p.onPollEvent
	p.mu.Lock()
	p.pollers = append(p.pollers, c)
	p.mu.Unlock()
	return c.run, nil
}

// pollEcho is the state of a polling echo run shared by its clients.
type pollEcho struct {
	pad         []byte
	measureFrom time.Time
	stopped     atomic.Bool
}

// onPollEvent counts a "bcast" event with its latency, or answers an echo
// ack with the next echo event (a closed loop per client).
func (p *clientProc) onPollEvent(c *pollClient, pkt []byte) {
	switch {
	case bytes.HasPrefix(pkt, []byte(`2["bcast"`)):
		if t, ok := stampOf(pkt); ok {
			p.blat.add(float64(time.Now().UnixNano()-t) / 1e3)
		}
		p.received.Add(1)
	case pkt[0] == '3':
		e := p.pecho.Load()
		if e == nil || e.stopped.Load() {
			return
		}
		if now := time.Now(); now.After(e.measureFrom) {
			if t, ok := stampOf(pkt); ok {
				p.lat.add(float64(now.UnixNano()-t) / 1e3)
			}
			p.acks.Add(1)
		}
		c.echoID++
		c.send(echoEvent(c.echoID, e.pad))
	}
}

// echoEvent is an acked "echo" event carrying its send time.
func echoEvent(id int, pad []byte) []byte {
	return fmt.Appendf(nil, `42%d["echo",{"t":%d,"p":"%s"}]`, id, time.Now().UnixNano(), pad)
}

// pollingEcho runs a closed loop of acked "echo" events on every polling
// client for cmd.Warmup + cmd.Duration and counts the acks after the
// warm-up.
func (p *clientProc) pollingEcho(cmd command) reply {
	p.mu.Lock()
	clients := append([]*pollClient(nil), p.pollers...)
	p.mu.Unlock()
	e := &pollEcho{
		pad:         bytes.Repeat([]byte("x"), max(cmd.Size-40, 1)),
		measureFrom: time.Now().Add(time.Duration(cmd.Warmup * float64(time.Second))),
	}
	stopAt := e.measureFrom.Add(time.Duration(cmd.Duration * float64(time.Second)))
	p.pecho.Store(e)
	for _, c := range clients {
		c.send(echoEvent(0, e.pad))
	}
	time.Sleep(time.Until(stopAt))
	e.stopped.Store(true)
	return reply{OK: len(clients), Acks: p.acks.Load(), Hist: p.lat.snapshot()}
}
