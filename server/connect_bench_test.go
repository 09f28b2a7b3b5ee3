package server

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/message"
	"github.com/parley-chat/parley/presence"
	"github.com/parley-chat/parley/session"
)

// BenchmarkConnectUserList measures what the store side of a connect costs
// with the Redis stores: the users event (every session, who is online, the
// connecting user's history) built and encoded as JSON, at 1,000 and 100,000
// stored sessions, one in ten online, 100 messages in the user's history.
//
//	go test -run '^$' -bench ConnectUserList -benchtime 20x ./server/
func BenchmarkConnectUserList(b *testing.B) {
	rdb := redistest.Start(b).Client(b)
	ctx := context.Background()
	sessions, _ := session.NewRedis(rdb, session.RedisConfig{})
	messages, _ := message.NewRedis(rdb, message.RedisConfig{})
	tracker, _ := presence.NewRedis(rdb, presence.RedisConfig{})
	c := &chat{sessions: sessions, messages: messages, presence: tracker}
	stored := 0
	for _, n := range []int{1000, 100000} {
		for ; stored < n; stored++ {
			s := session.Session{ID: fmt.Sprintf("s%031d", stored), UserID: fmt.Sprintf("u%015d", stored), Username: fmt.Sprintf("user %d", stored)}
			if err := sessions.Save(ctx, s); err != nil {
				b.Fatal(err)
			}
			if stored%10 == 0 {
				if _, err := tracker.Join(ctx, s.UserID, "sock"+s.ID); err != nil {
					b.Fatal(err)
				}
			}
		}
		me := fmt.Sprintf("u%015d", 0)
		for i := range 100 {
			m := message.Message{Content: "hello there", From: me, To: fmt.Sprintf("u%015d", i+1)}
			if err := messages.Save(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			var size int
			for b.Loop() {
				users, err := c.userList(ctx, me)
				if err != nil {
					b.Fatal(err)
				}
				out, err := json.Marshal(users)
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(size), "bytes/event")
		})
	}
}
