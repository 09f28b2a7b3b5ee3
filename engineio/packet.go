package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
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
