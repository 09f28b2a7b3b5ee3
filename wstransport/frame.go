package wstransport

import (
	"encoding/binary"
	"unicode/utf8"
)

// opcode is a WebSocket frame opcode (RFC 6455 §5.2).
type opcode byte

const (
	opContinuation opcode = 0x0
	opText         opcode = 0x1
	opBinary       opcode = 0x2
	opClose        opcode = 0x8
	opPing         opcode = 0x9
	opPong         opcode = 0xA
)

// Close status codes Parley sends (RFC 6455 §7.4.1).
const (
	CloseProtocolError  = 1002
	CloseInvalidPayload = 1007
	CloseMessageTooBig  = 1009
	// closeNoStatus is not sent on the wire: a close frame without a body
	// (what Node's ws sends from close() without a code) reads as 1005.
	closeNoStatus = 1005
)

// maxHeaderLen is the longest server frame header (no mask): 2 bytes plus a
// 64-bit length.
const maxHeaderLen = 10

// maxControlPayload is the largest payload of a control frame.
const maxControlPayload = 125

// closeError is a protocol failure that ends the connection with a close
// frame carrying code.
type closeError struct {
	code int
	msg  string
}

func (e *closeError) Error() string { return "wstransport: " + e.msg }

var (
	errUnmasked        = &closeError{CloseProtocolError, "client frame not masked"}
	errReservedBits    = &closeError{CloseProtocolError, "reserved bits set"}
	errBadOpcode       = &closeError{CloseProtocolError, "unknown opcode"}
	errBadControl      = &closeError{CloseProtocolError, "fragmented or oversized control frame"}
	errBadLength       = &closeError{CloseProtocolError, "frame length out of range"}
	errBadContinuation = &closeError{CloseProtocolError, "continuation without a message, or a new message inside one"}
	errBadClose        = &closeError{CloseProtocolError, "malformed close frame"}
	errTooBig          = &closeError{CloseMessageTooBig, "message above the maximum payload"}
	errInvalidUTF8     = &closeError{CloseInvalidPayload, "text message is not valid UTF-8"}
)

// header is a parsed client frame header.
type header struct {
	fin    bool
	op     opcode
	mask   [4]byte
	length int64
}

// parseHeader parses a client (masked) frame header at the start of b. It
// returns the header and its size, or size 0 and no error when b holds only
// part of it. A frame longer than max is refused before its payload arrives.
func parseHeader(b []byte, max int64) (header, int, error) {
	if len(b) < 2 {
		return header{}, 0, nil
	}
	var h header
	h.fin = b[0]&0x80 != 0
	if b[0]&0x70 != 0 {
		return h, 0, errReservedBits
	}
	h.op = opcode(b[0] & 0x0F)
	switch h.op {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if !h.fin || b[1]&0x7F > maxControlPayload {
			return h, 0, errBadControl
		}
	default:
		return h, 0, errBadOpcode
	}
	if b[1]&0x80 == 0 {
		return h, 0, errUnmasked
	}
	n := 2
	switch l := b[1] & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return h, 0, nil
		}
		h.length = int64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, nil
		}
		v := binary.BigEndian.Uint64(b[2:10])
		if v>>63 != 0 {
			return h, 0, errBadLength
		}
		h.length = int64(v)
		n = 10
	default:
		h.length = int64(l)
	}
	if h.length > max {
		return h, 0, errTooBig
	}
	if len(b) < n+4 {
		return h, 0, nil
	}
	copy(h.mask[:], b[n:n+4])
	return h, n + 4, nil
}

// unmask XORs b in place with the frame's masking key.
func unmask(b []byte, key [4]byte) {
	k := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	for ; i < len(b); i++ {
		b[i] ^= key[i&3]
	}
}

// appendFrame appends one final, unmasked server frame.
func appendFrame(dst []byte, op opcode, payload []byte) []byte {
	dst = appendHeader(dst, op, len(payload))
	return append(dst, payload...)
}

// appendHeader appends the header of a final, unmasked server frame of n
// payload bytes.
func appendHeader(dst []byte, op opcode, n int) []byte {
	b0 := 0x80 | byte(op)
	switch {
	case n < 126:
		return append(dst, b0, byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		var l [8]byte
		binary.BigEndian.PutUint64(l[:], uint64(n))
		return append(append(dst, b0, 127), l[:]...)
	}
}

// closeFrame builds a close frame; code closeNoStatus gives an empty body.
func closeFrame(code int, reason string) []byte {
	if code == closeNoStatus || code == 0 {
		return []byte{0x80 | byte(opClose), 0}
	}
	if len(reason) > maxControlPayload-2 {
		reason = reason[:maxControlPayload-2]
	}
	body := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(body, uint16(code))
	body = append(body, reason...)
	return appendFrame(make([]byte, 0, 2+len(body)), opClose, body)
}

// parseClose returns the status code of a received close frame's body
// (closeNoStatus when empty).
func parseClose(body []byte) (int, error) {
	switch {
	case len(body) == 0:
		return closeNoStatus, nil
	case len(body) == 1:
		return 0, errBadClose
	}
	code := int(binary.BigEndian.Uint16(body))
	if !validCloseCode(code) || !utf8.Valid(body[2:]) {
		return 0, errBadClose
	}
	return code, nil
}

// validCloseCode reports whether a peer may send code (RFC 6455 §7.4).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// frameSink receives what a frameReader assembles.
type frameSink interface {
	// message is a complete text or binary message. payload is only valid
	// during the call.
	message(op opcode, payload []byte)
	// control is a ping, pong or close frame. payload is only valid during
	// the call.
	control(op opcode, payload []byte) error
}

// frameReader turns the bytes of a client connection into messages. It keeps
// only an incomplete frame (or a fragmented message) between reads.
type frameReader struct {
	max     int64
	partial []byte // an incomplete frame carried over from the last read
	msg     []byte // fragments of the message in progress
	msgOp   opcode // opcode of the message in progress; 0 when none
}

// feed consumes data (which it may modify: frames are unmasked in place).
// It returns an error that ends the connection: a *closeError for protocol
// failures, or whatever the sink returned.
func (r *frameReader) feed(data []byte, sink frameSink) error {
	if len(r.partial) == 0 {
		rest, err := r.frames(data, sink)
		if err == nil && len(rest) > 0 {
			// data belongs to the caller: keep a copy of the incomplete frame.
			r.partial = append(make([]byte, 0, len(rest)+512), rest...)
		}
		return err
	}
	r.partial = append(r.partial, data...)
	rest, err := r.frames(r.partial, sink)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		r.partial = nil // idle connections hold no buffer
		return nil
	}
	r.partial = append(r.partial[:0], rest...) // move the rest to the front
	return nil
}

// frames handles every complete frame in b and returns the incomplete rest.
func (r *frameReader) frames(b []byte, sink frameSink) ([]byte, error) {
	for len(b) > 0 {
		h, n, err := parseHeader(b, r.max)
		if err != nil {
			return nil, err
		}
		if n == 0 || int64(len(b)-n) < h.length {
			return b, nil
		}
		payload := b[n : n+int(h.length)]
		b = b[n+int(h.length):]
		unmask(payload, h.mask)
		if err := r.frame(h, payload, sink); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// frame handles one complete, unmasked frame.
func (r *frameReader) frame(h header, payload []byte, sink frameSink) error {
	switch h.op {
	case opClose, opPing, opPong:
		return sink.control(h.op, payload)
	case opContinuation:
		if r.msgOp == 0 {
			return errBadContinuation
		}
		if int64(len(r.msg)+len(payload)) > r.max {
			return errTooBig
		}
		r.msg = append(r.msg, payload...)
		if !h.fin {
			return nil
		}
		op, msg := r.msgOp, r.msg
		r.msg, r.msgOp = nil, 0
		return deliver(op, msg, sink)
	default: // text or binary
		if r.msgOp != 0 {
			return errBadContinuation
		}
		if !h.fin {
			r.msgOp = h.op
			r.msg = append(make([]byte, 0, len(payload)*2), payload...)
			return nil
		}
		return deliver(h.op, payload, sink)
	}
}

func deliver(op opcode, payload []byte, sink frameSink) error {
	if op == opText && !utf8.Valid(payload) {
		return errInvalidUTF8
	}
	sink.message(op, payload)
	return nil
}
