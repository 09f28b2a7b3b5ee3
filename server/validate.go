package server

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Limits of the chat protocol.
const (
	maxUsernameChars = 32
	// DefaultMaxMessageChars is the longest message content accepted by
	// default, in characters (Unicode code points).
	DefaultMaxMessageChars = 4096
)

// Reasons sent back in a private message's ack when it is refused. They are
// part of the protocol seen by clients: keep them stable.
var (
	errInvalidPayload   = errors.New("invalid payload")
	errInvalidContent   = errors.New("content must be a non-empty string")
	errContentTooLong   = errors.New("content too long")
	errInvalidRecipient = errors.New("to must be a user id")
	errUnknownRecipient = errors.New("unknown recipient")
	errNotStored        = errors.New("message could not be stored, try again")
)

// normalizeUsername trims name and checks it is 1-32 characters of valid
// UTF-8 without control characters. ok is false for anything else.
func normalizeUsername(v any) (name string, ok bool) {
	s, isString := v.(string)
	if !isString || !utf8.ValidString(s) {
		return "", false
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 || n > maxUsernameChars || strings.ContainsFunc(s, isControl) {
		return "", false
	}
	return s, true
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

// outgoing is a validated private message request.
type outgoing struct {
	content string
	to      string
}

// parsePrivateMessage checks the payload of a "private message" event:
// {content: non-empty string of at most maxChars characters, to: string}.
func parsePrivateMessage(v any, maxChars int) (outgoing, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return outgoing{}, errInvalidPayload
	}
	content, ok := m["content"].(string)
	if !ok || content == "" || !utf8.ValidString(content) {
		return outgoing{}, errInvalidContent
	}
	if utf8.RuneCountInString(content) > maxChars {
		return outgoing{}, errContentTooLong
	}
	to, ok := m["to"].(string)
	if !ok || to == "" || len(to) > 128 {
		return outgoing{}, errInvalidRecipient
	}
	return outgoing{content: content, to: to}, nil
}
