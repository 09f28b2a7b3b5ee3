package socketio

import (
	"errors"
	"slices"
	"testing"
)

func TestRefusedSocketLeavesTheRoomsItJoined(t *testing.T) {
	io, url := suiteServer(t, Config{})
	io.Of("/custom").Use(func(s *Socket) error {
		s.Join("lobby")
		return errors.New("no")
	})
	c := connect(t, url, "40/custom,")
	c.expect(`44/custom,{"message":"no"}`)
	if rooms := io.Of("/custom").Adapter().Rooms(); slices.Contains(rooms, "lobby") {
		t.Fatalf("rooms after a refusal: %q, want no lobby", rooms)
	}
}
