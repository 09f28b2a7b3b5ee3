package notepack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// undefinedValue is JavaScript's undefined (the legacy d4 00 00 extension)
// while decoding. It only matters as a map key, where String(undefined) is
// "undefined"; everywhere else it surfaces as nil.
type undefinedValue struct{}

// Key interning: map keys repeat across messages ("type", "data", "nsp"),
// so each pooled decoder remembers a bounded number of short ones.
const (
	maxInternedKeys   = 1024
	maxInternedKeyLen = 32
)

// decoder walks msgpack input with vmihailenco's primitives, reading
// payloads straight from the input slice so that every length header is
// checked against the bytes actually left before anything is allocated.
type decoder struct {
	data    []byte
	r       bytes.Reader
	dec     *msgpack.Decoder
	depth   int
	ordered bool // maps become Map (wire order) instead of map[string]any
	keys    map[string]string
}

var decoderPool = sync.Pool{New: func() any {
	d := &decoder{keys: make(map[string]string)}
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}}

// Decode parses one msgpack value the way notepack's decoder would and
// returns it as Go values:
//
//   - nil → nil, bool → bool, str → string (invalid UTF-8 replaced by U+FFFD
//     as Node does), bin → []byte (a copy);
//   - every integer form → int64, or uint64 above math.MaxInt64;
//     float32 and float64 → float64;
//   - array → []any; map → map[string]any, non-string keys converted to the
//     string JavaScript would use as the property name (1 → "1",
//     [1,2] → "1,2", nil → "null"), a repeated key keeping its last value;
//   - ext -1 (timestamp 32/64/96) → time.Time in UTC;
//   - notepack's legacy forms: fixext1 type 0 (d4 00 00, "undefined") → nil,
//     ext8/16/32 type 0 (ArrayBuffer) → []byte, fixext8 type 0 (milliseconds
//     Date) → time.Time;
//   - any other ext → []any{int64(type), []byte(data)}, as notepack returns.
//
// Trailing bytes, truncated input and the unused code 0xc1 are errors.
func Decode(data []byte) (any, error) {
	return decodeWith(data, false)
}

// DecodeOrdered is Decode with maps returned as Map in wire order, for
// callers that inspect or relay envelopes whose key order matters.
func DecodeOrdered(data []byte) (any, error) {
	return decodeWith(data, true)
}

func decodeWith(data []byte, ordered bool) (any, error) {
	d := decoderPool.Get().(*decoder)
	d.data, d.depth, d.ordered = data, 0, ordered
	d.r.Reset(data)
	v, err := d.value()
	if err == nil && d.r.Len() > 0 {
		err = fmt.Errorf("notepack: %d trailing bytes after the value", d.r.Len())
	}
	d.data = nil
	d.r.Reset(nil)
	decoderPool.Put(d)
	if err != nil {
		return nil, err
	}
	return definedOrNil(v), nil
}

func definedOrNil(v any) any {
	if _, ok := v.(undefinedValue); ok {
		return nil
	}
	return v
}

// value decodes the next value, dispatching on its first byte.
func (d *decoder) value() (any, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, d.readErr(err)
	}
	switch {
	case msgpcode.IsFixedNum(c):
		return d.integer()
	case msgpcode.IsFixedMap(c):
		return d.mapValue()
	case msgpcode.IsFixedArray(c):
		return d.array()
	case msgpcode.IsString(c):
		return d.str()
	case msgpcode.IsBin(c):
		return d.bin()
	case msgpcode.IsExt(c):
		return d.ext(c)
	}
	switch c {
	case msgpcode.Nil:
		return nil, d.readErr(d.dec.DecodeNil())
	case msgpcode.False, msgpcode.True:
		b, err := d.dec.DecodeBool()
		return b, d.readErr(err)
	case msgpcode.Float, msgpcode.Double:
		f, err := d.dec.DecodeFloat64()
		return f, d.readErr(err)
	case msgpcode.Uint8, msgpcode.Uint16, msgpcode.Uint32, msgpcode.Uint64,
		msgpcode.Int8, msgpcode.Int16, msgpcode.Int32, msgpcode.Int64:
		return d.integer()
	case msgpcode.Array16, msgpcode.Array32:
		return d.array()
	case msgpcode.Map16, msgpcode.Map32:
		return d.mapValue()
	}
	return nil, fmt.Errorf("notepack: invalid code 0x%02x at offset %d", c, d.offset())
}

// nested decodes a child value, enforcing maxDepth.
func (d *decoder) nested() (any, error) {
	if d.depth >= maxDepth {
		return nil, errTooDeep
	}
	d.depth++
	v, err := d.value()
	d.depth--
	return v, err
}

func (d *decoder) offset() int { return len(d.data) - d.r.Len() }

// readErr wraps errors from vmihailenco's readers; they are all about input
// that ends too early.
func (d *decoder) readErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("notepack: truncated input at offset %d: %w", d.offset(), err)
}

// take returns the next n input bytes without copying them, after checking
// that the length header did not promise more than the input holds.
func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > d.r.Len() {
		return nil, fmt.Errorf("notepack: length %d at offset %d exceeds the %d bytes left: %w",
			n, d.offset(), d.r.Len(), io.ErrUnexpectedEOF)
	}
	start := d.offset()
	if _, err := d.r.Seek(int64(n), io.SeekCurrent); err != nil {
		return nil, fmt.Errorf("notepack: %w", err)
	}
	return d.data[start : start+n : start+n], nil
}

func (d *decoder) integer() (any, error) {
	c, _ := d.dec.PeekCode()
	if c == msgpcode.Uint64 {
		u, err := d.dec.DecodeUint64()
		if err != nil {
			return nil, d.readErr(err)
		}
		if u > math.MaxInt64 {
			return u, nil
		}
		return int64(u), nil
	}
	n, err := d.dec.DecodeInt64()
	return n, d.readErr(err)
}

func (d *decoder) str() (any, error) {
	b, err := d.lengthPrefixed()
	if err != nil {
		return nil, err
	}
	return jsUTF8(b), nil
}

func (d *decoder) bin() (any, error) {
	b, err := d.lengthPrefixed()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil // never alias the caller's buffer
}

// lengthPrefixed reads a str or bin header and returns its payload.
func (d *decoder) lengthPrefixed() ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, d.readErr(err)
	}
	return d.take(n)
}

func (d *decoder) array() (any, error) {
	n, err := d.dec.DecodeArrayLen()
	if err != nil {
		return nil, d.readErr(err)
	}
	// Every item takes at least one byte.
	if n > d.r.Len() {
		return nil, fmt.Errorf("notepack: array of %d items at offset %d exceeds the %d bytes left: %w",
			n, d.offset(), d.r.Len(), io.ErrUnexpectedEOF)
	}
	items := make([]any, n)
	for i := range items {
		v, err := d.nested()
		if err != nil {
			return nil, err
		}
		items[i] = definedOrNil(v)
	}
	return items, nil
}

func (d *decoder) mapValue() (any, error) {
	n, err := d.dec.DecodeMapLen()
	if err != nil {
		return nil, d.readErr(err)
	}
	// Every entry takes at least two bytes.
	if n > d.r.Len()/2 {
		return nil, fmt.Errorf("notepack: map of %d entries at offset %d exceeds the %d bytes left: %w",
			n, d.offset(), d.r.Len(), io.ErrUnexpectedEOF)
	}
	if d.ordered {
		return d.orderedEntries(n)
	}
	m := make(map[string]any, n)
	for i := 0; i < n; i++ {
		key, value, err := d.entry()
		if err != nil {
			return nil, err
		}
		m[key] = value
	}
	return m, nil
}

// orderedEntries reads n entries into a Map, merging repeated keys the way a
// JavaScript object does (first position, last value).
func (d *decoder) orderedEntries(n int) (any, error) {
	m := make(Map, 0, n)
	var index map[string]int
	for i := 0; i < n; i++ {
		key, value, err := d.entry()
		if err != nil {
			return nil, err
		}
		m, index = setProperty(m, index, key, value)
	}
	return m, nil
}

// entry reads one key/value pair, naming the key as JavaScript would.
func (d *decoder) entry() (string, any, error) {
	key, err := d.key()
	if err != nil {
		return "", nil, err
	}
	value, err := d.nested()
	if err != nil {
		return "", nil, err
	}
	return key, definedOrNil(value), nil
}

// key decodes a map key. String keys, by far the most common, are interned.
func (d *decoder) key() (string, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return "", d.readErr(err)
	}
	if !msgpcode.IsString(c) {
		k, err := d.nested()
		if err != nil {
			return "", err
		}
		return jsPropertyKey(k), nil
	}
	b, err := d.lengthPrefixed()
	if err != nil {
		return "", err
	}
	if s, ok := d.keys[string(b)]; ok {
		return s, nil
	}
	s := jsUTF8(b)
	if len(b) <= maxInternedKeyLen && len(d.keys) < maxInternedKeys {
		d.keys[s] = s
	}
	return s, nil
}
