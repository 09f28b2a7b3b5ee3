package engineio

import (
	"encoding/base64"
	"sync"

	"github.com/parley-chat/parley/wstransport"
)

// Frames is data encoded once to be sent to any number of sessions: one or
// more Engine.IO message packets, each a text (a Socket.IO packet) or a
// binary attachment. The WebSocket frames and the polling payload segment
// are built on first use and then shared, so a broadcast frames its bytes
// once whatever the number of recipients.
//
// The byte slices given to NewFrames must not be modified afterwards.
type Frames struct {
	parts []part

	wsOnce sync.Once
	ws     []byte
	pOnce  sync.Once
	poll   []byte
}

type part struct {
	data   []byte
	binary bool
}

// NewFrames returns the messages text (sent as a text message, without the
// Engine.IO type character, which is added) followed by one binary message
// per attachment.
func NewFrames(text []byte, attachments ...[]byte) *Frames {
	f := &Frames{parts: make([]part, 0, 1+len(attachments))}
	f.parts = append(f.parts, part{data: text})
	for _, a := range attachments {
		f.parts = append(f.parts, part{data: a, binary: true})
	}
	return f
}

// wsFrames returns the messages as WebSocket frames: a text frame of '4'
// and the text, a binary frame per attachment (raw, without type byte, as
// engine.io 4 sends binary).
func (f *Frames) wsFrames() []byte {
	f.wsOnce.Do(func() {
		size := 0
		for _, p := range f.parts {
			size += wstransport.MaxHeaderLen + 1 + len(p.data)
		}
		b := make([]byte, 0, size)
		for _, p := range f.parts {
			if p.binary {
				b = wstransport.AppendFrame(b, true, p.data)
				continue
			}
			b = wstransport.AppendHeader(b, false, 1+len(p.data))
			b = append(append(b, byte(Message)), p.data...)
		}
		f.ws = b
	})
	return f.ws
}

// pollSegment returns the messages as packets of a polling payload
// (separated, without a leading separator).
func (f *Frames) pollSegment() []byte {
	f.pOnce.Do(func() {
		size := 0
		for _, p := range f.parts {
			size += 2 + base64.StdEncoding.EncodedLen(len(p.data))
		}
		b := make([]byte, 0, size)
		for _, p := range f.parts {
			b = appendPollPacket(b, Message, p.data, p.binary)
		}
		f.poll = b
	})
	return f.poll
}

// Len returns the size of the messages' data.
func (f *Frames) Len() int {
	n := 0
	for _, p := range f.parts {
		n += len(p.data)
	}
	return n
}

// NewBinaryFrames returns one binary message.
func NewBinaryFrames(data []byte) *Frames {
	return &Frames{parts: []part{{data: data, binary: true}}}
}
