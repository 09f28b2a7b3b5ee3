package socketio_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/socketio"
)

// A chat room: clients join "lobby" on connection, and every "chat" event is
// relayed to the others and acknowledged to its sender. The client here
// speaks the protocol by hand to show what travels.
func Example() {
	io := socketio.New(socketio.Config{})
	io.OnConnection(func(s *socketio.Socket) {
		s.Join("lobby")
		s.On("chat", func(args socketio.Args, ack socketio.Ack) {
			text, _ := args.String(0)
			_ = s.To("lobby").Emit("chat", text)
			_ = ack.Send("delivered: " + strings.ToUpper(text))
		})
	})
	srv := httptest.NewServer(io)
	defer srv.Close()
	defer func() { _ = io.Close(context.Background()) }()

	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Close()
	read := func() string {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, msg, _ := ws.ReadMessage()
		return string(msg)
	}
	open := read()                       // the Engine.IO open packet
	_ = ws.WriteMessage(1, []byte("40")) // join "/"
	connected := read()
	_ = ws.WriteMessage(1, []byte(`421["chat","hi"]`)) // an event asking for ack 1
	fmt.Println(open[:8], connected[:9])
	fmt.Println(read())
	// Output:
	// 0{"sid": 40{"sid":
	// 431["delivered: HI"]
}
