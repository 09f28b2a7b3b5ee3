package notepack

import (
	"bytes"

	"github.com/vmihailenco/msgpack/v5"
)

// KV is one entry of a Map.
type KV struct {
	Key   string
	Value any
}

// Map is a msgpack map whose keys are written in slice order. Node writes
// object keys in insertion order (array-index keys first), so envelopes that
// must match a Node peer byte for byte, such as the emitter's
// {rooms, flags, except}, are built as a Map rather than a Go map.
// Keys are written as given, duplicates included.
type Map []KV

// Get returns the value of the first entry named key.
func (m Map) Get(key string) (any, bool) {
	for _, kv := range m {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// EncodeMsgpack implements msgpack.CustomEncoder, so a Map nested in a struct
// that the vmihailenco encoder walks is still written in order and with
// notepack's rules.
func (m Map) EncodeMsgpack(e *msgpack.Encoder) error {
	s := encodeState{enc: e}
	return s.encodeMap(m)
}

// MarshalJSON writes m as a JSON object in slice order, so the same envelope
// can be sent on the JSON request channels too. Like JSON.stringify it leaves
// <, > and & unescaped; encode the result with MarshalJSONText (or an Encoder
// with SetEscapeHTML(false)) to keep it that way.
func (m Map) MarshalJSON() ([]byte, error) { return appendJSON(nil, m, 0) }

// MarshalJSONText returns the JSON encoding of v as JSON.stringify writes it
// for the equivalent JavaScript value: no HTML escaping (encoding/json still
// escapes U+2028 and U+2029, which JSON readers treat alike), Maps in their
// own key order, NaN and ±Infinity as null, -0 as 0, integers beyond ±2^53
// rounded to the float64 they stand for, and binary (see Binary) in a Node
// Buffer's JSON form {"type":"Buffer","data":[...]}. Otherwise the bytes are
// those of encoding/json. It refuses what Marshal refuses, with an error
// wrapping ErrUnsupported.
func MarshalJSONText(v any) ([]byte, error) { return appendJSON(nil, v, 0) }

// trimNewline drops the newline json.Encoder writes after each value.
func trimNewline(b *bytes.Buffer) {
	if n := b.Len(); n > 0 && b.Bytes()[n-1] == '\n' {
		b.Truncate(n - 1)
	}
}
