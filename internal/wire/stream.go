package wire

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"unicode/utf16"

	"github.com/parley-chat/parley/internal/notepack"
)

// This file holds the Redis Streams side of @socket.io/redis-streams-adapter
// 0.3: stream entries, stream names, offsets and persisted sessions.

// StreamFields returns the XADD field/value pairs of m as the streams adapter
// writes them: uid, nsp, type (decimal) and, for types with data, data as
// JSON or, when the type may carry binary and the data does (and plaintext
// is false), as base64 of its msgpack.
func StreamFields(m *Message, plaintext bool) ([]any, error) {
	code, data, err := messageData(m)
	if err != nil {
		return nil, err
	}
	fields := []any{"uid", m.UID, "nsp", m.Nsp, "type", strconv.Itoa(code)}
	if data == nil {
		return fields, nil
	}
	binary, dates := scan(data)
	var payload string
	if !plaintext && binary && mayCarryBinary(code) {
		packed, err := notepack.Marshal(data)
		if err != nil {
			return nil, err
		}
		payload = base64.StdEncoding.EncodeToString(packed)
	} else {
		text, err := jsonText(data, dates)
		if err != nil {
			return nil, err
		}
		payload = string(text)
	}
	return append(fields, "data", payload), nil
}

// DecodeStreamEntry reads a stream entry's fields (as go-redis returns
// them). An entry without nsp is not a message (Node's readers skip it too);
// it is reported as malformed.
func DecodeStreamEntry(values map[string]any) (*Message, error) {
	o := object{}
	for _, k := range []string{"uid", "nsp", "type"} {
		s, ok := values[k].(string)
		if !ok {
			return nil, malformed("stream entry has no " + k)
		}
		o[k] = s
	}
	code, err := strconv.ParseInt(o.str("type"), 10, 64)
	if err != nil {
		return nil, malformed("stream entry type is not a number")
	}
	o["type"] = code
	if raw, _ := values["data"].(string); raw != "" {
		data, err := decodeStreamData(raw)
		if err != nil {
			return nil, err
		}
		o["data"] = data
	}
	m, r, err := decodeClusterObject(o)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return nil, malformed("a response in the stream")
	}
	return m, nil
}

// decodeStreamData reads a data field: JSON when it starts with '{',
// otherwise base64 of msgpack.
func decodeStreamData(raw string) (any, error) {
	if raw[0] == '{' {
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return nil, malformed("stream data json: " + err.Error())
		}
		return v, nil
	}
	packed, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, malformed("stream data base64: " + err.Error())
	}
	v, err := notepack.Decode(packed)
	if err != nil {
		return nil, malformed("stream data msgpack: " + err.Error())
	}
	return v, nil
}

// StreamName is the stream namespace nsp uses: base, or with count > 1
// base-i where i is Java's String.hashCode of the name (32-bit, over UTF-16
// code units) modulo count. Quirk kept for compatibility: a negative hash
// gives a negative index ("socket.io--3"), a stream Node nodes write to but
// never read (their readers poll base-0 .. base-(count-1)); see
// NegativeStream.
func StreamName(base string, count int, nsp string) string {
	if count <= 1 {
		return base
	}
	return base + "-" + strconv.Itoa(int(javaHash(nsp)%int32(count)))
}

// NegativeStream reports whether StreamName gives nsp a negative index.
func NegativeStream(count int, nsp string) bool {
	return count > 1 && javaHash(nsp)%int32(count) < 0
}

// javaHash is Java's String.hashCode (over UTF-16 code units), which the
// Node adapter uses to pick a namespace's stream.
func javaHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			h = h*31 + hi
			r = lo
		}
		h = h*31 + r
	}
	return h
}

var offsetPattern = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// ValidOffset reports whether offset has the form of a stream entry id, the
// only offsets the streams adapter restores from.
func ValidOffset(offset string) bool { return offsetPattern.MatchString(offset) }

// Session is a disconnected socket's state, persisted so that it can be
// restored on any node.
type Session struct {
	SID   string
	PID   string
	Rooms []string
	Data  any
}

// EncodeSession writes s as the streams adapter stores it: base64 of the
// msgpack of {sid, pid, rooms, data}.
func EncodeSession(s Session) (string, error) {
	packed, err := notepack.Marshal(notepack.Map{
		{Key: "sid", Value: s.SID},
		{Key: "pid", Value: s.PID},
		{Key: "rooms", Value: orEmpty(s.Rooms)},
		{Key: "data", Value: s.Data},
	})
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(packed), nil
}

// DecodeSession reads a session stored by EncodeSession or by a Node node.
func DecodeSession(raw string) (Session, error) {
	packed, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return Session{}, malformed("session base64: " + err.Error())
	}
	v, err := notepack.Decode(packed)
	if err != nil {
		return Session{}, malformed("session msgpack: " + err.Error())
	}
	o, ok := asObject(v)
	if !ok {
		return Session{}, malformed("session is not an object")
	}
	s := Session{SID: o.str("sid"), PID: o.str("pid"), Data: o["data"]}
	if s.SID == "" {
		return Session{}, malformed("session has no sid")
	}
	s.Rooms, err = roomList(o["rooms"])
	return s, err
}
