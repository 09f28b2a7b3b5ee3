package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"unicode/utf8"
)

// PacketType is an Engine.IO packet type (engine.io-protocol v4).
type PacketType byte

// Packet types, as they appear on the wire ('0' to '6').
const (
	Open    PacketType = '0'
	Close   PacketType = '1'
	Ping    PacketType = '2'
	Pong    PacketType = '3'
	Message PacketType = '4'
	Upgrade PacketType = '5'
	Noop    PacketType = '6'
)

// separator ends each packet but the last of a long-polling payload.
const separator = 0x1e

// errBadPacket is a packet the protocol does not know.
var errBadPacket = errors.New("engineio: invalid packet")

// packet is one decoded packet: its type and data. Binary message data is
// raw bytes; binary is false for everything else.
type packet struct {
	typ    PacketType
	data   []byte
	binary bool
}

// decodeText decodes a text packet (a WebSocket text frame, or one packet
// of a polling payload). In a polling payload, 'b' starts a base64 binary
// message. data aliases b, except for base64, which is decoded into a new
// slice.
func decodeText(b []byte, polling bool) (packet, error) {
	if len(b) == 0 {
		return packet{}, errBadPacket
	}
	t := PacketType(b[0])
	if polling && t == 'b' {
		data := make([]byte, base64.StdEncoding.DecodedLen(len(b)-1))
		n, err := base64.StdEncoding.Decode(data, b[1:])
		if err != nil {
			return packet{}, errBadPacket
		}
		return packet{typ: Message, data: data[:n], binary: true}, nil
	}
	if t < Open || t > Noop {
		return packet{}, errBadPacket
	}
	return packet{typ: t, data: b[1:]}, nil
}

// decodePayload splits a polling payload into packets. Node's parser stops at
// the first invalid packet, which ends the session; so does the caller on
// the error.
func decodePayload(body []byte) ([]packet, error) {
	var out []packet
	for part := range bytes.SplitSeq(body, []byte{separator}) {
		p, err := decodeText(part, true)
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

// appendPollPacket appends a packet to a polling payload: its type and text
// data, or 'b' and base64 for binary messages, after a separator when the
// payload is not empty.
func appendPollPacket(dst []byte, t PacketType, data []byte, binary bool) []byte {
	if len(dst) > 0 {
		dst = append(dst, separator)
	}
	if binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, data)
	}
	dst = append(dst, byte(t))
	return append(dst, data...)
}

// validUTF8 returns b with each ill-formed UTF-8 sequence replaced by
// U+FFFD, one per maximal subpart, as JavaScript decodes text: Node reads a
// polling body as a UTF-8 string, so what the layers above see, and relay
// to WebSocket clients (whose text frames must be UTF-8), is valid UTF-8.
func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		if r, size := utf8.DecodeRune(b[i:]); r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		i += maximalSubpart(b[i:])
		out = append(out, "\uFFFD"...)
	}
	return out
}

// maximalSubpart returns the length of the ill-formed sequence b starts
// with: its lead byte and the continuation bytes that could follow it.
func maximalSubpart(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	var need int
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b) && b[n] >= lo && b[n] <= hi; n++ {
		lo, hi = 0x80, 0xBF
	}
	return n
}
