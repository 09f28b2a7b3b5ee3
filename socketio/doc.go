// Package socketio is Parley's Socket.IO 5 server, on the Engine.IO 4
// server of package engineio: what Node's socket.io 4.8 does, point by
// point on the wire, with a typed Go API.
//
//	io := socketio.New(socketio.Config{})
//	io.Use(func(s *socketio.Socket) error { ... })        // connection middleware
//	io.OnConnection(func(s *socketio.Socket) {
//		s.Join("room1")
//		s.On("chat", func(args socketio.Args, ack socketio.Ack) {
//			var text string
//			if err := args.Decode(0, &text); err != nil { ... }
//			_ = s.To("room1").Emit("chat", text)      // everyone in room1 but s
//			_ = ack.Send("ok")                        // when the client asked
//		})
//		s.OnDisconnect(func(reason socketio.DisconnectReason) { ... })
//	})
//	http.Handle("/socket.io/", io)
//
// Namespaces are made with Of (or, dynamically, OfFunc); each has its
// middlewares, connection handlers and Adapter. Broadcasts go through the
// adapter: the in-memory MemoryAdapter on one node, package adapter's over
// Redis in a cluster.
//
// # Costs
//
// A connected idle socket holds a few small structs: no goroutine, no timer
// (heartbeats, connect and ack timeouts sit in one shared heap,
// internal/timers), no map unless it joins rooms or registers handlers,
// nothing of its upgrade request but a compact copy of the handshake.
// Events a client sends are decoded once, lazily: a handler gets Args over
// the JSON text the client sent, and passing them on (Args.Values) writes
// the same text again. A broadcast is encoded once and framed once; every
// recipient gets the same bytes.
//
// # Watching a server
//
// Tools that watch a whole server, such as the admin UI (package admin),
// hook in with Server.OnAnyConnection (every namespace's new sockets,
// before the namespace's handlers), OnRoomJoined and OnRoomLeft (every
// room a socket joins or leaves), OnUpgrade (a client's move to
// WebSocket), OnSetData, OnClusterData (the data other nodes see of local
// sockets) and CountTraffic (sessions, packets and bytes). The hooks are
// server-wide and read with one atomic load where things happen: a server
// that nobody watches pays that load and a nil check, and allocates
// nothing for them.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. A socket's handlers
// (middlewares, connection handlers, events, acks the client sends) run on
// the goroutine that reads the client's connection, one at a time and in
// order: a handler that blocks delays that client only (the transport
// starts more readers for the others). Because that goroutine is the one
// that would read the client's answer, a handler must not wait for an
// answer from its own client (EmitWithAck's callback runs later, on the
// reader). Ack timeouts and disconnect handlers triggered by a heartbeat
// run on goroutines of their own.
//
// Lock order: Server, then Namespace, then MemoryAdapter, then Socket; a
// client's lock is a leaf. No lock is held while a handler runs or while
// an adapter talks to the network.
package socketio
