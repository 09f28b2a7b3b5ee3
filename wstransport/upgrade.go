package wstransport

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// handshakeTimeout bounds the write of the 101 response.
const handshakeTimeout = 10 * time.Second

// acceptGUID is the key suffix of RFC 6455 §4.2.2.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// ErrBadHandshake is returned by Upgrade for a request that is not a valid
// WebSocket opening handshake; the client has been answered 400 (426 for an
// unsupported version).
var ErrBadHandshake = errors.New("wstransport: bad handshake")

// IsUpgrade reports whether r asks for a WebSocket (an Upgrade header naming
// websocket, and a Connection header naming upgrade).
func IsUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

// Upgrade completes the WebSocket opening handshake of r and takes the
// connection over from net/http: extra (which may be nil) goes into the 101
// response. No extension or subprotocol is negotiated. The returned Conn
// does not read until Start.
//
// After Upgrade, nothing of r or of net/http's buffers is kept: a Conn holds
// the socket, its write path and its readiness registration.
func (s *Server) Upgrade(w http.ResponseWriter, r *http.Request, extra http.Header) (*Conn, error) {
	key, err := checkHandshake(w, r)
	if err != nil {
		return nil, err
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: cannot take the connection over", http.StatusInternalServerError)
		return nil, fmt.Errorf("wstransport: hijack: %w", err)
	}
	c := &Conn{fr: frameReader{max: s.cfg.MaxPayload}}
	c.outbound = outbound{srv: s, nc: nc, raw: rawConnOf(nc), c: c}
	if n := brw.Reader.Buffered(); n > 0 {
		// A client may send frames right behind its request; net/http has
		// read them into its buffer already. They are read first, as the
		// start of the stream.
		early, _ := brw.Reader.Peek(n)
		c.fr.partial = append([]byte(nil), early...)
	}
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	_, err = nc.Write(response(key, extra))
	_ = nc.SetDeadline(time.Time{})
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("wstransport: writing the handshake response: %w", err)
	}
	s.conns.add(c)
	return c, nil
}

// checkHandshake validates the opening handshake and answers the client
// when it is not one; it returns the client's key.
func checkHandshake(w http.ResponseWriter, r *http.Request) (string, error) {
	fail := func(status int, why string) (string, error) {
		http.Error(w, "websocket: "+why, status)
		return "", fmt.Errorf("%w: %s", ErrBadHandshake, why)
	}
	switch {
	case r.Method != http.MethodGet:
		return fail(http.StatusBadRequest, "method is not GET")
	case !IsUpgrade(r):
		return fail(http.StatusBadRequest, "not a websocket upgrade")
	case r.Header.Get("Sec-Websocket-Version") != "13":
		w.Header().Set("Sec-WebSocket-Version", "13")
		return fail(http.StatusUpgradeRequired, "unsupported version")
	}
	key := r.Header.Get("Sec-Websocket-Key")
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		return fail(http.StatusBadRequest, "invalid Sec-WebSocket-Key")
	}
	return key, nil
}

// response builds the 101 answer.
func response(key string, extra http.Header) []byte {
	sum := sha1.Sum([]byte(key + acceptGUID))
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b.WriteString(base64.StdEncoding.EncodeToString(sum[:]))
	b.WriteString("\r\n")
	for k, vs := range extra {
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(strings.NewReplacer("\r", "", "\n", "").Replace(v))
			b.WriteString("\r\n")
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// headerHasToken reports whether a comma-separated header contains token
// (case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// AppendFrame appends one final, unmasked server frame holding payload, a
// binary frame when binary is set and a text frame otherwise.
func AppendFrame(dst []byte, binary bool, payload []byte) []byte {
	return appendFrame(dst, opOf(binary), payload)
}

// AppendHeader appends the header of a final, unmasked server frame of n
// payload bytes; the caller appends the payload.
func AppendHeader(dst []byte, binary bool, n int) []byte { return appendHeader(dst, opOf(binary), n) }

// MaxHeaderLen is the longest frame header AppendHeader writes.
const MaxHeaderLen = maxHeaderLen

func opOf(binary bool) opcode {
	if binary {
		return opBinary
	}
	return opText
}
