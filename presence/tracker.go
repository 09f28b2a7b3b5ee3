// Package presence tracks which users have at least one live socket, so the
// chat announces "user connected" on a user's first socket and "user
// disconnected" only when the last one closes.
//
// Presence is counted (a set of live socket IDs per user) rather than asked
// around for after a disconnect, so a fast reload cannot leave an online user
// shown offline: the new socket's Join and the old socket's Leave commute.
package presence

import "context"

// Tracker records live sockets per user. It is safe for concurrent use.
type Tracker interface {
	// Join records socketID as a live socket of userID. first reports whether
	// the user had no live socket before.
	Join(ctx context.Context, userID, socketID string) (first bool, err error)
	// Leave forgets socketID. last reports whether the user has no live socket
	// left. Leaving an unknown socket is not an error and reports last only if
	// the user has no socket.
	Leave(ctx context.Context, userID, socketID string) (last bool, err error)
	// Online reports, for each given user, whether it has a live socket.
	Online(ctx context.Context, userIDs []string) (map[string]bool, error)
}
