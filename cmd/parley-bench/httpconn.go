package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// httpConn is one keep-alive HTTP/1.1 connection that sends one request at
// a time, as a browser's connection does. It is written by hand rather than
// with net/http because net/http's Transport runs two goroutines per
// connection and allocates a header map per response; a thousand long-polling
// clients share the two cores with the server under test.
type httpConn struct {
	addr    string // host:port, also sent as Host
	src     net.IP
	timeout time.Duration // of a dial
	br      *bufio.Reader
	wbuf    []byte

	// nc is changed by the goroutine that owns the connection, under mu,
	// so that shutdown can close it from another goroutine.
	mu       sync.Mutex
	nc       net.Conn
	deadline time.Time
	dead     bool
	// reopened counts the connections opened again after the server closed
	// one (Node closes idle keep-alive connections after 5 s).
	reopened atomic.Int64
}

func newHTTPConn(addr string, src net.IP, timeout time.Duration) *httpConn {
	return &httpConn{addr: addr, src: src, timeout: timeout}
}

var errShutdown = errors.New("connection shut down")

func (h *httpConn) dial() error {
	d := net.Dialer{Timeout: h.timeout, LocalAddr: &net.TCPAddr{IP: h.src}}
	nc, err := d.Dial("tcp", h.addr)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dead {
		_ = nc.Close()
		return errShutdown
	}
	if !h.deadline.IsZero() {
		_ = nc.SetDeadline(h.deadline)
	}
	h.nc = nc
	if h.br == nil {
		h.br = bufio.NewReaderSize(nc, 2048)
	} else {
		h.br.Reset(nc)
	}
	return nil
}

// do sends a GET (body nil) or POST of path and returns the status and the
// response body, appended to buf[:0]. A request on a reused connection that
// fails before any byte of the response is sent once more on a new
// connection: the server closed it while idle and so never read the request.
func (h *httpConn) do(path string, body, buf []byte) (int, []byte, error) {
	reused := h.nc != nil
	if !reused {
		if err := h.dial(); err != nil {
			return 0, nil, err
		}
	}
	status, out, err := h.roundTrip(path, body, buf)
	if err != nil && reused && errors.Is(err, errNoResponse) {
		h.close()
		h.reopened.Add(1)
		if err := h.dial(); err != nil {
			return 0, nil, err
		}
		status, out, err = h.roundTrip(path, body, buf)
	}
	if err != nil {
		h.close()
	}
	return status, out, err
}

// errNoResponse wraps a failure before the first byte of a response.
var errNoResponse = errors.New("no response")

func (h *httpConn) roundTrip(path string, body, buf []byte) (int, []byte, error) {
	h.wbuf = appendRequest(h.wbuf[:0], h.addr, path, body)
	if _, err := h.nc.Write(h.wbuf); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", errNoResponse, err)
	}
	if _, err := h.br.Peek(1); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", errNoResponse, err)
	}
	status, out, keepAlive, err := readResponse(h.br, buf)
	if err == nil && !keepAlive {
		h.close()
	}
	return status, out, err
}

// setDeadline bounds the next requests, on this connection and on those
// opened again (zero: no bound).
func (h *httpConn) setDeadline(t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deadline = t
	if h.nc != nil {
		_ = h.nc.SetDeadline(t)
	}
}

// close closes the connection; the next request opens a new one.
func (h *httpConn) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nc != nil {
		_ = h.nc.Close()
		h.nc = nil
	}
}

// shutdown closes the connection for good; unlike the other methods it may
// be called from any goroutine, and unblocks a request in progress.
func (h *httpConn) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dead = true
	if h.nc != nil {
		_ = h.nc.Close()
	}
}

// appendRequest appends a GET (body nil) or a text POST of path.
func appendRequest(b []byte, host, path string, body []byte) []byte {
	method := "GET "
	if body != nil {
		method = "POST "
	}
	b = append(b, method...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	if body != nil {
		b = append(b, "\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
	}
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// maxBody bounds a response body: Engine.IO servers send at most their
// maxPayload (1 MB for both servers) per poll.
const maxBody = 8 << 20

// readResponse reads one HTTP/1.1 response: the body (Content-Length,
// chunked, or up to the end of the connection) is appended to buf[:0].
// keepAlive tells whether the connection may carry another request.
func readResponse(br *bufio.Reader, buf []byte) (status int, body []byte, keepAlive bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, nil, false, err
	}
	proto, rest, _ := bytes.Cut(line, []byte(" "))
	code, _, _ := bytes.Cut(rest, []byte(" "))
	status, err = strconv.Atoi(string(code))
	if err != nil || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	keepAlive = string(proto) == "HTTP/1.1"
	length, chunked := -1, false
	for {
		line, err := readLine(br)
		if err != nil {
			return 0, nil, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, false, fmt.Errorf("bad header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 || length > maxBody {
				return 0, nil, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keepAlive = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keepAlive = true
			}
		}
	}
	buf = buf[:0]
	switch {
	case status == 204 || status == 304 || status < 200:
	case chunked:
		buf, err = readChunked(br, buf)
	case length >= 0:
		buf, err = readN(br, buf, length)
	default:
		keepAlive = false
		buf, err = readAll(br, buf)
	}
	return status, buf, keepAlive, err
}

// readLine returns a line without its CRLF; it is valid until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func readN(br *bufio.Reader, buf []byte, n int) ([]byte, error) {
	start := len(buf)
	buf = slices.Grow(buf, n)[:start+n]
	_, err := io.ReadFull(br, buf[start:])
	return buf, err
}

func readChunked(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return buf, err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || n < 0 || len(buf)+int(n) > maxBody {
			return buf, fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			break
		}
		if buf, err = readN(br, buf, int(n)); err != nil {
			return buf, err
		}
		if line, err = readLine(br); err != nil || len(line) != 0 {
			return buf, fmt.Errorf("chunk not followed by CRLF: %q %v", line, err)
		}
	}
	for { // trailers
		line, err := readLine(br)
		if err != nil || len(line) == 0 {
			return buf, err
		}
	}
}

func readAll(br *bufio.Reader, buf []byte) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(br, maxBody))
	return append(buf, b...), err
}
