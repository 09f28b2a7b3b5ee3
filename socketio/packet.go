package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// PacketType is a Socket.IO packet type (socket.io-protocol v5).
type PacketType byte

// Packet types.
const (
	PacketConnect PacketType = iota
	PacketDisconnect
	PacketEvent
	PacketAck
	PacketConnectError
	PacketBinaryEvent
	PacketBinaryAck
)

// Packet is a Socket.IO packet on its way out: what emits, broadcasts and
// adapters hand around. Data holds the event name then its arguments
// (EVENT), or the arguments (ACK).
type Packet struct {
	Type PacketType
	Nsp  string
	// ID is the ack id, or -1 when the packet asks for none.
	ID   int64
	Data []any
}

// noID marks a packet without an ack id.
const noID = -1

// errMalformed wraps every error of a packet the client sent.
var errMalformed = errors.New("socketio: malformed packet")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// header is a decoded packet without its payload.
type header struct {
	typ         PacketType
	attachments int
	nsp         string
	id          int64
	payload     []byte // the JSON data, nil when absent
}

// parseHeader decodes the text of a packet: type, attachment count, namespace
// and ack id, as Node's decoder reads them, then checks that the payload is
// JSON of the shape the type requires.
func parseHeader(b []byte, maxAttachments int) (header, error) {
	h := header{id: noID, nsp: "/"}
	if len(b) == 0 || b[0] < '0' || b[0] > '6' {
		return h, malformed("unknown packet type")
	}
	h.typ = PacketType(b[0] - '0')
	i := 1
	if h.typ == PacketBinaryEvent || h.typ == PacketBinaryAck {
		j := bytes.IndexByte(b[i:], '-')
		if j < 0 {
			return h, malformed("illegal attachments")
		}
		n, err := strconv.Atoi(string(b[i : i+j]))
		if err != nil || n < 0 {
			return h, malformed("illegal attachments")
		}
		if n > maxAttachments {
			return h, malformed("too many attachments")
		}
		h.attachments = n
		i += j + 1
	}
	if i < len(b) && b[i] == '/' {
		j := bytes.IndexByte(b[i:], ',')
		if j < 0 {
			h.nsp = string(b[i:])
			i = len(b)
		} else {
			h.nsp = string(b[i : i+j])
			i += j + 1
		}
	}
	if start := i; i < len(b) && isDigit(b[i]) {
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		id, err := strconv.ParseInt(string(b[start:i]), 10, 64)
		if err != nil {
			return h, malformed("invalid ack id")
		}
		h.id = id
	}
	if i < len(b) {
		h.payload = b[i:]
		if !json.Valid(h.payload) {
			return h, malformed("payload is not JSON")
		}
	}
	return h, h.check()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// check applies Node's isPayloadValid, which looks at the payload only
// when there is one: an EVENT or ACK without data (or an ACK without an
// id) is not malformed, and the socket ignores or handles it as Node does.
func (h header) check() error {
	first := firstByte(h.payload)
	switch h.typ {
	case PacketConnect:
		if h.payload != nil && first != '{' {
			return malformed("CONNECT payload is not an object")
		}
	case PacketDisconnect:
		if h.payload != nil {
			return malformed("DISCONNECT with a payload")
		}
	case PacketEvent, PacketBinaryEvent:
		if h.payload != nil && first != '[' {
			return malformed("EVENT payload is not an array")
		}
	case PacketAck, PacketBinaryAck:
		if h.payload != nil && first != '[' {
			return malformed("ACK payload is not an array")
		}
	case PacketConnectError:
		return malformed("CONNECT_ERROR from a client")
	}
	return nil
}

// firstByte returns the first non-space byte of a JSON text (0 when none).
func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

// reservedEvents may not be sent by clients (Node's parser refuses them)
// nor emitted by the server.
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"newListener": true, "removeListener": true,
}

// ErrReservedEvent is returned when an emit names an event socket.io
// reserves.
var ErrReservedEvent = errors.New("socketio: reserved event name")

// appendHeader writes a packet's type, attachment count, namespace and ack
// id, as Node's encoder does.
func appendHeader(dst []byte, typ PacketType, attachments int, nsp string, id int64) []byte {
	if attachments > 0 {
		switch typ {
		case PacketEvent:
			typ = PacketBinaryEvent
		case PacketAck:
			typ = PacketBinaryAck
		}
	}
	dst = append(dst, '0'+byte(typ))
	if typ == PacketBinaryEvent || typ == PacketBinaryAck {
		dst = strconv.AppendInt(dst, int64(attachments), 10)
		dst = append(dst, '-')
	}
	if nsp != "" && nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	return dst
}

// encoded is a packet ready to write: its text and binary attachments.
type encoded struct {
	text []byte
	att  [][]byte
}

// size returns the bytes of the packet's messages.
func (e encoded) size() int {
	n := len(e.text)
	for _, a := range e.att {
		n += len(a)
	}
	return n
}

// encodeEvent encodes an EVENT packet of ev and args (or an ACK of args
// when typ is PacketAck and ev is ""), choosing the binary form when an
// argument holds binary.
func encodeEvent(typ PacketType, nsp string, id int64, ev string, args []any) (encoded, error) {
	return appendEvent(make([]byte, 0, 64), typ, nsp, id, ev, args)
}

// MaxClientAttachments is the most binary attachments a packet sent to
// clients may carry: socket.io-client's parser (socket.io-parser 4.2)
// refuses a packet with more and drops the connection, so an emit with more
// returns ErrUnencodable instead (Node's server sends it, and its clients
// disconnect).
const MaxClientAttachments = 10

// appendEvent is encodeEvent writing into dst. The header is written for a
// packet without attachments and written again in the rare case one turns
// up, so that the common packet is encoded in one pass into one buffer.
func appendEvent(dst []byte, typ PacketType, nsp string, id int64, ev string, args []any) (encoded, error) {
	var att [][]byte
	dst = appendHeader(dst, typ, 0, nsp, id)
	start := len(dst)
	dst = append(dst, '[')
	if typ == PacketEvent {
		dst = appendString(dst, ev)
	}
	for i, a := range args {
		if i > 0 || typ == PacketEvent {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendValue(dst, a, &att, 1); err != nil {
			return encoded{}, err
		}
	}
	dst = append(dst, ']')
	if len(att) == 0 {
		return encoded{text: dst}, nil
	}
	if len(att) > MaxClientAttachments {
		return encoded{}, fmt.Errorf("%w: %d binary attachments, more than the %d socket.io clients accept", ErrUnencodable, len(att), MaxClientAttachments)
	}
	data := dst[start:]
	head := appendHeader(make([]byte, 0, 16+len(data)), typ, len(att), nsp, id)
	return encoded{text: append(head, data...), att: att}, nil
}

// scratch recycles the buffers text packets are encoded into before they
// are framed (the frame is a copy).
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// maxScratch keeps one large packet from pinning its buffer in the pool.
const maxScratch = 64 << 10

// sendEvent encodes an event or an ack in a pooled buffer and writes it to
// c: the buffer goes back to the pool unless the packet has attachments
// (which keep referring to it).
func sendEvent(c *client, typ PacketType, nsp string, id int64, ev string, args []any, volatile bool) (bool, error) {
	bp := scratch.Get().(*[]byte)
	enc, err := appendEvent((*bp)[:0], typ, nsp, id, ev, args)
	if err != nil {
		scratch.Put(bp)
		return false, err
	}
	ok := c.write(enc, volatile)
	if len(enc.att) == 0 && cap(enc.text) <= maxScratch {
		*bp = enc.text[:0]
		scratch.Put(bp)
	}
	return ok, nil
}

// encodePacket encodes a Packet (its Data is [event, args...] for events).
func encodePacket(p *Packet) (encoded, error) {
	switch p.Type {
	case PacketEvent, PacketBinaryEvent:
		if len(p.Data) == 0 {
			return encoded{}, fmt.Errorf("%w: event packet without a name", ErrUnencodable)
		}
		ev, ok := p.Data[0].(string)
		if !ok {
			return encoded{}, fmt.Errorf("%w: event name is %T, not a string", ErrUnencodable, p.Data[0])
		}
		return encodeEvent(PacketEvent, p.Nsp, p.ID, ev, p.Data[1:])
	case PacketAck, PacketBinaryAck:
		return encodeEvent(PacketAck, p.Nsp, p.ID, "", p.Data)
	}
	text := appendHeader(nil, p.Type, 0, p.Nsp, p.ID)
	if len(p.Data) > 0 {
		var err error
		if text, err = appendJSON(text, p.Data[0], nil); err != nil {
			return encoded{}, err
		}
	}
	return encoded{text: text}, nil
}
