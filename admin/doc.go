// Package admin is the server side of the Socket.IO Admin UI on Parley's
// socketio.Server: what instrument() of @socket.io/admin-ui 0.5.1 does for
// a Node server, on the wire the same, so that the official dashboard
// (hosted at https://admin.socket.io, or served by Parley itself, see
// package admin/dashboard) can watch and steer Parley nodes, and Node nodes
// running instrument in the same cluster.
//
//	io := socketio.New(socketio.Config{})
//	a, err := admin.Instrument(io, admin.Config{
//		Username:     "admin",
//		PasswordHash: "$2b$10$...", // bcrypt, as instrument's auth.password
//	})
//	...
//	defer a.Close()
//
// # Protocol
//
// Dashboards connect to the admin namespace ("/admin") with basic auth in
// the CONNECT payload ({username, password}, or the {sessionId} a previous
// login got with the "session" event). They get "config" (the supported
// features), every 2 s "server_stats" from every node, and in development
// mode "all_sockets" on connection, then "socket_connected",
// "socket_updated", "socket_disconnected", "room_joined", "room_left",
// "event_received" and "event_sent" as things happen. Unless the admin UI
// is read-only, they send the commands "emit", "join", "leave" and
// "_disconnect", which act on a namespace's sockets, all of them or those
// in a room (a socket id is a room).
//
// Everything goes through the socketio API a cluster adapter serves: the
// events are broadcasts of the admin namespace, so a dashboard connected
// to one node hears every node's; "all_sockets" comes from FetchSockets
// and the commands are broadcast operators, which reach every node.
//
// # Costs
//
// A server that is not instrumented pays nothing. An instrumented one
// counts its traffic for "server_stats" (socketio.Server.CountTraffic: a
// few atomic adds per packet, once per broadcast) and emits its stats every
// 2 s. Development mode adds, per socket, handlers of its events and, per
// event, a broadcast to the admin namespace: it is meant for development,
// as in Node.
package admin
