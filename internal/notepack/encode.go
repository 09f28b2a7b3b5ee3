package notepack

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// maxDepth bounds nesting when decoding: hostile input cannot make the
// decoder recurse without limit.
const maxDepth = 10000

var errTooDeep = errors.New("notepack: value nested too deeply")

// maxEncodeDepth bounds nesting in what Marshal and MarshalJSONText write.
// Node.js peers decode msgpack and JSON recursively and overflow their call
// stack at about 2,500 levels (notepack.io and JSON.parse, Node 20), so a
// deeper value is refused here rather than sent to peers that would fail on
// it; a cyclic Go value fails the same way instead of overflowing the stack.
const maxEncodeDepth = 1000

var errEncodeTooDeep = fmt.Errorf("%w: value nested more than %d levels deep (or cyclic)", ErrUnsupported, maxEncodeDepth)

// maxSafeInteger is 2^53: every integer up to it in magnitude is a
// JavaScript number exactly; larger ones stand for the nearest float64.
const maxSafeInteger = 1 << 53

// maxPooledBuffer keeps one huge message from pinning its buffer in the pool.
const maxPooledBuffer = 64 << 10

// encoder is the pooled unit: a vmihailenco encoder bound to its own buffer.
type encoder struct {
	buf   bytes.Buffer
	state encodeState
}

var encoderPool = sync.Pool{New: func() any {
	p := &encoder{}
	p.state.enc = newMsgpackEncoder(&p.buf)
	return p
}}

// newMsgpackEncoder configures vmihailenco for the values Marshal hands to
// it whole (structs and custom encoders): smallest integer forms, whole
// floats as integers, sorted map keys, and JSON field names as a fallback for
// fields without a msgpack tag.
func newMsgpackEncoder(w io.Writer) *msgpack.Encoder {
	e := msgpack.NewEncoder(w)
	e.UseCompactInts(true)
	e.UseCompactFloats(true)
	e.SetSortMapKeys(true)
	e.SetCustomStructTag("json")
	return e
}

// Marshal returns the bytes notepack.io 3.0.1 writes for the JavaScript value
// equivalent to v:
//
//   - nil, nil pointers, nil slices and nil maps → nil (as encoding/json
//     writes null), bool → bool, string → str;
//   - Go integers and whole float64/float32/json.Number values → the smallest
//     integer form (unsigned forms for non-negative values); other numbers,
//     NaN and ±Inf → float64. Integers beyond ±2^53 are first rounded to the
//     nearest float64, the JavaScript number they stand for, so Go and
//     Node.js receivers read the same value;
//   - []byte, byte arrays and Binary values (byte buffers such as the
//     socket.io library's *types.BytesBuffer) → bin; time.Time → timestamp
//     extension -1;
//   - slices and arrays → array;
//   - maps with string (or numeric or bool, stringified) keys → map, keys in
//     JavaScript order: array-index keys ("0", "7") numerically first, then
//     the others bytewise; Map → map in its own order;
//   - json.RawMessage, json.Marshaler and encoding.TextMarshaler values →
//     their JSON or text form (notepack's toJSON rule), objects keeping the
//     key order JSON.parse would give them;
//   - structs → maps in field order via vmihailenco/msgpack (msgpack tags,
//     json tags as fallback, omitempty honoured). Inside a struct,
//     vmihailenco's own rules apply: float32 fields may become float32 and
//     map keys are sorted bytewise; use Map, float64 and any fields where
//     byte equality with Node matters.
//
// Unlike notepack there is no "undefined": a key whose value Node would leave
// undefined must be left out of the map by the caller.
//
// Marshal never writes a value's content away silently. It returns an error
// wrapping ErrUnsupported for channels, functions, complex numbers, streams
// (io.Reader values that are not Binary), map keys other than strings,
// numbers and bools, values nested more than 1,000 levels deep (cyclic ones
// included), and structs that have data but no exported field (which would
// become an empty map), also when such a struct is reachable through the
// exported fields of another.
func Marshal(v any) ([]byte, error) {
	p := encoderPool.Get().(*encoder)
	p.buf.Reset()
	p.state.keys = p.state.keys[:0]
	p.state.depth = 0
	err := p.state.encode(v)
	var out []byte
	if err == nil {
		out = append([]byte(nil), p.buf.Bytes()...)
	}
	if p.buf.Cap() <= maxPooledBuffer {
		encoderPool.Put(p)
	}
	return out, err
}

// encodeState walks a value, writing through a vmihailenco encoder.
type encodeState struct {
	enc   *msgpack.Encoder
	keys  []string // scratch space shared by nested map sorts
	depth int
}

// encode writes v; the common dynamic types are handled without reflection.
func (s *encodeState) encode(v any) error {
	e := s.enc
	switch x := v.(type) {
	case nil:
		return e.EncodeNil()
	case string:
		return e.EncodeString(x)
	case bool:
		return e.EncodeBool(x)
	case int:
		return encodeInt(e, int64(x))
	case int8:
		return e.EncodeInt(int64(x))
	case int16:
		return e.EncodeInt(int64(x))
	case int32:
		return e.EncodeInt(int64(x))
	case int64:
		return encodeInt(e, x)
	case uint:
		return encodeUint(e, uint64(x))
	case uint8:
		return e.EncodeUint(uint64(x))
	case uint16:
		return e.EncodeUint(uint64(x))
	case uint32:
		return e.EncodeUint(uint64(x))
	case uint64:
		return encodeUint(e, x)
	case float64:
		return encodeNumber(e, x)
	case float32:
		return encodeNumber(e, float64(x))
	case json.Number:
		f, err := jsonNumber(x)
		if err != nil {
			return err
		}
		return encodeNumber(e, f)
	case []byte:
		return e.EncodeBytes(x)
	case time.Time:
		return e.EncodeTime(x)
	case *time.Time:
		if x == nil {
			return e.EncodeNil()
		}
		return e.EncodeTime(*x)
	case []any:
		return s.encodeSlice(x)
	case []string:
		return s.encodeStrings(x)
	case map[string]any:
		return s.encodeStringMap(x)
	case Map:
		return s.encodeMap(x)
	case json.RawMessage:
		return s.encodeJSON(x)
	}
	return s.encodeOther(v)
}

// encodeNested encodes a child value, enforcing maxEncodeDepth.
func (s *encodeState) encodeNested(v any) error {
	if s.depth >= maxEncodeDepth {
		return errEncodeTooDeep
	}
	s.depth++
	err := s.encode(v)
	s.depth--
	return err
}

func (s *encodeState) encodeSlice(items []any) error {
	if items == nil {
		return s.enc.EncodeNil()
	}
	if err := s.enc.EncodeArrayLen(len(items)); err != nil {
		return err
	}
	for _, item := range items {
		if err := s.encodeNested(item); err != nil {
			return err
		}
	}
	return nil
}

func (s *encodeState) encodeStrings(items []string) error {
	if items == nil {
		return s.enc.EncodeNil()
	}
	if err := s.enc.EncodeArrayLen(len(items)); err != nil {
		return err
	}
	for _, item := range items {
		if err := s.enc.EncodeString(item); err != nil {
			return err
		}
	}
	return nil
}

// encodeStringMap writes m with keys in JavaScript order, sorting in the
// shared scratch slice so that small messages do not allocate for it.
func (s *encodeState) encodeStringMap(m map[string]any) error {
	if m == nil {
		return s.enc.EncodeNil()
	}
	start := len(s.keys)
	for k := range m {
		s.keys = append(s.keys, k)
	}
	keys := s.keys[start:]
	sortJSKeys(keys)
	err := s.enc.EncodeMapLen(len(keys))
	for _, k := range keys {
		if err != nil {
			break
		}
		if err = s.enc.EncodeString(k); err == nil {
			err = s.encodeNested(m[k])
		}
	}
	clear(keys)
	s.keys = s.keys[:start]
	return err
}

func (s *encodeState) encodeMap(m Map) error {
	if m == nil {
		return s.enc.EncodeNil()
	}
	if err := s.enc.EncodeMapLen(len(m)); err != nil {
		return err
	}
	for _, kv := range m {
		if err := s.enc.EncodeString(kv.Key); err != nil {
			return err
		}
		if err := s.encodeNested(kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// encodeJSON writes a JSON document as the value JSON.parse would produce.
func (s *encodeState) encodeJSON(data []byte) error {
	v, err := parseJSON(data)
	if err != nil {
		return err
	}
	return s.encodeNested(v)
}

// encodeOther handles values outside the fast path: types with their own
// encoding, then everything else by kind.
func (s *encodeState) encodeOther(v any) error {
	switch x := v.(type) {
	case msgpack.CustomEncoder, msgpack.Marshaler:
		if err := s.enc.Encode(x); err != nil {
			return fmt.Errorf("notepack: encoding %T: %w", v, err)
		}
		return nil
	case json.Marshaler:
		data, err := x.MarshalJSON()
		if err != nil {
			return fmt.Errorf("notepack: encoding %T as JSON: %w", v, err)
		}
		return s.encodeJSON(data)
	case encoding.TextMarshaler:
		text, err := x.MarshalText()
		if err != nil {
			return fmt.Errorf("notepack: encoding %T as text: %w", v, err)
		}
		return s.enc.EncodeString(string(text))
	case Binary:
		if isNilPointer(x) {
			return s.enc.EncodeNil()
		}
		data, err := contentOf(x)
		if err != nil {
			return err
		}
		return s.enc.EncodeBytes(data)
	case io.Reader:
		return unsupported(reflect.TypeOf(v), "is a stream (read it into []byte first)")
	}
	return s.encodeReflect(reflect.ValueOf(v))
}

func (s *encodeState) encodeReflect(rv reflect.Value) error {
	e := s.enc
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return e.EncodeNil()
		}
		return s.encodeNested(rv.Elem().Interface())
	case reflect.Bool:
		return e.EncodeBool(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return encodeInt(e, rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return encodeUint(e, rv.Uint())
	case reflect.Float32, reflect.Float64:
		return encodeNumber(e, rv.Float())
	case reflect.String:
		return e.EncodeString(rv.String())
	case reflect.Slice:
		if rv.IsNil() {
			return e.EncodeNil()
		}
		return s.encodeList(rv)
	case reflect.Array:
		return s.encodeList(rv)
	case reflect.Map:
		return s.encodeReflectMap(rv)
	case reflect.Struct:
		return s.encodeStruct(rv)
	}
	return unsupported(rv.Type(), "has no msgpack form")
}

// encodeStruct hands a struct to vmihailenco once it is known not to lose
// content that the struct encoder cannot see.
func (s *encodeState) encodeStruct(rv reflect.Value) error {
	if err := checkType(rv.Type()); err != nil {
		return err
	}
	if err := s.enc.EncodeValue(rv); err != nil {
		return fmt.Errorf("notepack: encoding %s: %w", rv.Type(), err)
	}
	return nil
}

// encodeList writes a slice or array: bytes as bin, anything else as array.
func (s *encodeState) encodeList(rv reflect.Value) error {
	n := rv.Len()
	if rv.Type().Elem().Kind() == reflect.Uint8 {
		b := make([]byte, n)
		reflect.Copy(reflect.ValueOf(b), rv)
		return s.enc.EncodeBytes(b)
	}
	if err := s.enc.EncodeArrayLen(n); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := s.encodeNested(rv.Index(i).Interface()); err != nil {
			return err
		}
	}
	return nil
}

// encodeReflectMap writes any other map kind; keys that are not strings are
// stringified as JavaScript property names would be.
func (s *encodeState) encodeReflectMap(rv reflect.Value) error {
	if rv.IsNil() {
		return s.enc.EncodeNil()
	}
	entries := make(Map, 0, rv.Len())
	iter := rv.MapRange()
	for iter.Next() {
		key, err := propertyName(iter.Key())
		if err != nil {
			return err
		}
		entries = append(entries, KV{Key: key, Value: iter.Value().Interface()})
	}
	sortEntries(entries)
	return s.encodeMap(entries)
}

// propertyName converts a Go map key to the JavaScript property name.
func propertyName(k reflect.Value) (string, error) {
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return jsNumberString(k.Float()), nil
	case reflect.Bool:
		return strconv.FormatBool(k.Bool()), nil
	}
	return "", unsupported(k.Type(), "is not a map key JavaScript can name")
}
