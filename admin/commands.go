package admin

import (
	"github.com/parley-chat/parley/socketio"
)

// handleCommands registers a dashboard's commands. Each acts on the
// sockets of a namespace, all of them or those of a room (the filter,
// often a socket's id), on every node: they are broadcast operators, as in
// instrument for Socket.IO 4. A read-only admin UI registers none, so the
// commands are ignored, as instrument ignores them.
func (a *Admin) handleCommands(s *socketio.Socket) {
	// emit(nsp, filter, event, ...args)
	s.On("emit", func(args socketio.Args, _ socketio.Ack) {
		nsp, filter := str(args, 0), str(args, 1)
		ev := str(args, 2)
		if ev == "" {
			return
		}
		a.logCommand(s, "emit", nsp, filter, "event", ev)
		values := args.Values()[3:]
		if err := a.target(nsp, filter).Emit(ev, values...); err != nil {
			a.log.Warn("admin: emit command", "nsp", nsp, "event", ev, "err", err)
		}
	})
	// join(nsp, room, filter), leave(nsp, room, filter)
	a.handleRoomCommand(s, "join", socketio.BroadcastOperator.SocketsJoin)
	a.handleRoomCommand(s, "leave", socketio.BroadcastOperator.SocketsLeave)
	// _disconnect(nsp, close, filter)
	s.On("_disconnect", func(args socketio.Args, _ socketio.Ack) {
		nsp, filter := str(args, 0), str(args, 2)
		closeConn, _ := args.Value(1).(bool)
		a.logCommand(s, "disconnect", nsp, filter, "close", closeConn)
		if err := a.target(nsp, filter).DisconnectSockets(closeConn); err != nil {
			a.log.Warn("admin: disconnect command", "nsp", nsp, "err", err)
		}
	})
}

// handleRoomCommand registers join or leave: apply makes the selected
// sockets join or leave the room.
func (a *Admin) handleRoomCommand(s *socketio.Socket, cmd string, apply func(socketio.BroadcastOperator, ...string) error) {
	s.On(cmd, func(args socketio.Args, _ socketio.Ack) {
		nsp, room, filter := str(args, 0), str(args, 1), str(args, 2)
		if room == "" {
			return
		}
		a.logCommand(s, cmd, nsp, filter, "room", room)
		if err := apply(a.target(nsp, filter), room); err != nil {
			a.log.Warn("admin: "+cmd+" command", "nsp", nsp, "room", room, "err", err)
		}
	})
}

// target selects the sockets of namespace name, those in room filter when
// it is set. The namespace is made when this node has none of that name,
// as instrument's io.of does: in a cluster it may have sockets on other
// nodes only, which its adapter reaches.
func (a *Admin) target(name, filter string) socketio.BroadcastOperator {
	if name == "" {
		name = "/"
	}
	var rooms []string
	if filter != "" {
		rooms = []string{filter}
	}
	return a.io.Of(name).In(rooms...)
}

// logCommand records who asked for what: commands change what clients
// see.
func (a *Admin) logCommand(s *socketio.Socket, cmd, nsp, filter string, kv ...any) {
	a.log.Info("admin: "+cmd+" command", append([]any{"dashboard", s.ID(), "nsp", nsp, "filter", filter}, kv...)...)
}

// str returns argument i when it is a string, "" otherwise (null and
// undefined mean "none" in the protocol).
func str(args socketio.Args, i int) string {
	s, _ := args.String(i)
	return s
}
