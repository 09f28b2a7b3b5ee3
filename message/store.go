// Package message stores the chat's private messages, per user.
//
// A Store is safe for concurrent use. Every method takes a context and returns
// an error.
package message

import "context"

// Message is one private message. The JSON form is the wire and storage form
// of the private-messaging protocol: {"content","from","to"}.
type Message struct {
	Content string `json:"content"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// Store keeps every user's messages, oldest first.
type Store interface {
	// Save appends m to the history of m.From and of m.To (once when they are
	// the same user). It either stores the message for both or returns an
	// error and stores it for neither.
	Save(ctx context.Context, m Message) error
	// ForUser returns the messages sent or received by userID, oldest first.
	ForUser(ctx context.Context, userID string) ([]Message, error)
}
