// Package wstransport is Parley's WebSocket transport for the zishang520
// Engine.IO server. It is registered under the name "websocket" through the
// server options, so it serves direct WebSocket connections and the
// polling-to-WebSocket upgrade alike.
//
// The engine still performs the HTTP upgrade (with gorilla/websocket). The
// transport then takes the raw connection, drops the gorilla Conn and its
// buffers, and does RFC 6455 framing itself:
//
//   - Reading: on Linux over plain TCP no goroutine waits on an idle
//     connection. A readiness loop (epoll, one-shot) hands ready connections
//     to a pool of long-lived workers; while every worker is busy (a
//     connection middleware blocking on a store, say) more are started, and
//     those stop again when idle. Elsewhere (TLS, other systems) each
//     connection has one reading goroutine.
//   - Writing: every write (the engine's Send, pongs, close frames and
//     pre-framed broadcasts from package fanout) goes through one path per
//     connection: a mutex, a non-blocking write, and, when the socket is
//     full, a bounded queue drained by a short-lived goroutine under a write
//     deadline. The transport always reports itself writable, so the
//     engine's own buffer never holds packets that a direct write could
//     overtake.
//   - Slow consumers: a volatile message is dropped while a connection has a
//     backlog; a connection whose backlog exceeds Config.MaxQueue, or does not
//     drain within Config.WriteTimeout, is closed with the reason "slow
//     consumer" (the engine reports a transport error with that
//     description). Both are counted.
//   - Closing: like Node's ws, the server sends a close frame when the engine
//     closes the connection (ping timeout included; the client sees 1005),
//     1009 for a message above the maximum payload, 1002 for protocol errors
//     and 1007 for invalid UTF-8, then waits up to Config.CloseTimeout for the
//     client's close frame.
//
// Not supported: permessage-deflate (the engine's option is off by default
// in Parley) and Engine.IO 3 binary frames on the pre-framed broadcast path
// (those recipients go through the engine).
//
// Concurrency: a Builder and its Transports are safe for concurrent use. Per
// connection, frames are parsed by one goroutine at a time; writes are
// serialised by the connection's mutex, which is never held while calling
// into the engine.
package wstransport
