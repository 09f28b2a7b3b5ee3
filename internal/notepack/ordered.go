package notepack

import (
	"bytes"
	"encoding/json"
	"fmt"

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
// can be sent on the JSON request channels too.
func (m Map) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(kv.Key)
		if err != nil {
			return nil, fmt.Errorf("notepack: key %q: %w", kv.Key, err)
		}
		value, err := json.Marshal(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("notepack: value of %q: %w", kv.Key, err)
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
