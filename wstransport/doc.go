// Package wstransport is Parley's WebSocket layer: the opening handshake
// (Server.Upgrade takes the connection over from net/http and keeps none of
// its buffers), RFC 6455 framing, and reading and writing without a
// goroutine per connection. Package engineio builds its WebSocket transport
// on it.
//
//   - Reading: on Linux over plain TCP no goroutine waits on an idle
//     connection. A few long-lived loops wait for readiness (epoll,
//     edge-triggered) and read ready connections themselves, in line: a
//     connection's messages reach its Handler on the loop's goroutine, one
//     at a time and in order. While every loop is blocked in handlers (a
//     store that is slow, say) more are started, and those stop again when
//     idle. Elsewhere (TLS, other systems) each connection has one reading
//     goroutine.
//   - Writing: every write (messages, pings, pongs, close frames, the
//     pre-framed bytes of a broadcast shared by many connections) goes
//     through one path per connection: a mutex, a non-blocking write, and,
//     when the socket is full, a bounded queue drained by a short-lived
//     goroutine under a write deadline. Priority writes (heartbeats) go
//     ahead of the backlog.
//   - Slow consumers: a Volatile write is dropped while a connection has a
//     backlog; a connection whose backlog has reached Config.MaxQueue when
//     another message comes, or that does
//     not drain within Config.WriteTimeout, is closed with the reason
//     "slow consumer" (its Handler hears the error). Both are counted.
//   - Closing: like Node's ws, Close sends a close frame without a status
//     (clients see 1005); the server answers 1009 to a message above the
//     maximum payload, 1002 to protocol errors and 1007 to invalid UTF-8,
//     then waits up to Config.CloseTimeout for the client's close frame.
//
// Not supported: permessage-deflate (no extension is negotiated).
//
// Concurrency: a Server and its Conns are safe for concurrent use. Per
// connection, frames are parsed by one goroutine at a time; writes are
// serialised by the connection's mutex, which is never held while calling
// a Handler.
package wstransport
