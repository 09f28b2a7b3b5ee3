package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	cases := []struct {
		name, in, body string
		status         int
		keepAlive      bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 2\r\n\r\nokNEXT", "ok", 200, true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\n40{\r\n2\r\n}x\r\n0\r\nTrailer: a\r\n\r\nNEXT", "40{}x", 200, true},
		{"connection close", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbad", "bad", 400, false},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n6", "6", 200, false},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n6NEXT", "6", 200, true},
		{"to the end", "HTTP/1.1 200 OK\r\n\r\nuntil EOF", "until EOF", 200, false},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\nNEXT", "", 204, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(c.in))
			status, body, keepAlive, err := readResponse(br, []byte("old"))
			if err != nil {
				t.Fatal(err)
			}
			if status != c.status || string(body) != c.body || keepAlive != c.keepAlive {
				t.Fatalf("got %d %q keep-alive %v, want %d %q %v", status, body, keepAlive, c.status, c.body, c.keepAlive)
			}
			if rest, _ := br.ReadString(0); keepAlive && rest != "NEXT" {
				t.Fatalf("left %q after the response", rest)
			}
		})
	}
}

func TestReadResponseErrors(t *testing.T) {
	for _, in := range []string{
		"SSH-2.0-OpenSSH\r\n\r\n",
		"HTTP/1.1 abc OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	} {
		if _, _, _, err := readResponse(bufio.NewReader(strings.NewReader(in)), nil); err == nil {
			t.Errorf("no error for %q", in)
		}
	}
}

func TestAppendRequest(t *testing.T) {
	get := string(appendRequest(nil, "127.0.0.1:80", "/p?a=1", nil))
	if want := "GET /p?a=1 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n"; get != want {
		t.Errorf("GET: %q, want %q", get, want)
	}
	post := string(appendRequest(nil, "h:1", "/p", []byte("40")))
	if want := "POST /p HTTP/1.1\r\nHost: h:1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 2\r\n\r\n40"; post != want {
		t.Errorf("POST: %q, want %q", post, want)
	}
}

// TestRequestAfterIdleClose: a server that closes a keep-alive connection
// after one request (as Node does after 5 s idle) does not fail the next
// request, which goes on a new connection.
func TestRequestAfterIdleClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(nc)
			for line, err := br.ReadString('\n'); err == nil && line != "\r\n"; line, err = br.ReadString('\n') {
			}
			_, _ = nc.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
			_ = nc.Close()
		}
	}()
	h := newHTTPConn(ln.Addr().String(), net.IPv4(127, 0, 0, 1), 5*time.Second)
	defer h.close()
	for i := range 3 {
		status, body, err := h.do("/", nil, nil)
		if err != nil || status != 200 || string(body) != "ok" {
			t.Fatalf("request %d: %d %q %v", i, status, body, err)
		}
	}
	if n := h.reopened.Load(); n > 2 {
		t.Errorf("reopened %d connections for 3 requests", n)
	}
}
