package server

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeUsername(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want string
		ok   bool
	}{
		{"alice", "alice", true},
		{"  alice \t", "alice", true},
		{"a", "a", true},
		{strings.Repeat("ü", 32), strings.Repeat("ü", 32), true},
		{"日本語の名前", "日本語の名前", true},
		{"bob 🦊", "bob 🦊", true},
		{strings.Repeat("ü", 33), "", false},
		{"", "", false},
		{"   ", "", false},
		{"a\x00b", "", false},
		{"a\nb", "", false},
		{"a\u0085b", "", false},
		{"\xff\xfe", "", false},
		{nil, "", false},
		{42, "", false},
		{[]any{"alice"}, "", false},
	} {
		got, ok := normalizeUsername(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normalizeUsername(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParsePrivateMessage(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want outgoing
		err  error
	}{
		{map[string]any{"content": "hi", "to": "u1"}, outgoing{"hi", "u1"}, nil},
		{map[string]any{"content": "1234", "to": "u1", "extra": true}, outgoing{"1234", "u1"}, nil},
		{map[string]any{"content": "12345", "to": "u1"}, outgoing{}, errContentTooLong},
		{map[string]any{"content": "üüüü", "to": "u1"}, outgoing{"üüüü", "u1"}, nil},
		{map[string]any{"content": "", "to": "u1"}, outgoing{}, errInvalidContent},
		{map[string]any{"content": "\xff", "to": "u1"}, outgoing{}, errInvalidContent},
		{map[string]any{"content": 1.5, "to": "u1"}, outgoing{}, errInvalidContent},
		{map[string]any{"to": "u1"}, outgoing{}, errInvalidContent},
		{map[string]any{"content": "hi"}, outgoing{}, errInvalidRecipient},
		{map[string]any{"content": "hi", "to": ""}, outgoing{}, errInvalidRecipient},
		{map[string]any{"content": "hi", "to": strings.Repeat("u", 129)}, outgoing{}, errInvalidRecipient},
		{map[string]any{"content": "hi", "to": nil}, outgoing{}, errInvalidRecipient},
		{"hi", outgoing{}, errInvalidPayload},
		{nil, outgoing{}, errInvalidPayload},
		{[]any{map[string]any{"content": "hi", "to": "u1"}}, outgoing{}, errInvalidPayload},
	} {
		got, err := parsePrivateMessage(tt.in, 4)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("parsePrivateMessage(%#v) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s, u := newSessionID(), newUserID()
		if len(s) != 32 || len(u) != 16 || s == u || seen[s] || seen[u] {
			t.Fatalf("ids %q, %q: want 128-bit and 64-bit hex, all distinct", s, u)
		}
		seen[s], seen[u] = true, true
	}
}
