package server

import (
	"crypto/rand"
	"encoding/hex"
)

// newSessionID returns a secret bearer token: 128 bits from crypto/rand.
func newSessionID() string { return randomHex(16) }

// newUserID returns a public user id. It only has to be unique, not secret,
// but it comes from crypto/rand too so it says nothing about the session id.
func newUserID() string { return randomHex(8) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux (Go 1.24+ panics rather than returning an error)
	return hex.EncodeToString(b)
}
