package wire

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/notepack"
)

// Payload returns the arguments of an event (or of an ack, or of a
// server-side emit) as the values Parley sends to other nodes, Parley or
// Node.js, and builds its own clients' copy from (see ClientArgs), so that
// what a node's clients get and what other nodes' clients get are the same:
//
//   - binary becomes []byte: a []byte (nil is an empty one, which the
//     socket.io library sends as an empty attachment), any
//     notepack.Binary (the library's *types.BytesBuffer, what handlers get
//     for a client's attachment; *bytes.Buffer), and any other io.Reader,
//     which the socket.io parser also treats as binary, read to its end
//     once here instead of by the library's encoder;
//   - numbers are the JavaScript numbers they stand for: float32 and
//     json.Number become float64, and integers beyond ±2^53 the nearest
//     float64 (every JavaScript peer reads them so; a Go client would
//     otherwise read the exact integer from Parley nodes and the rounded
//     one from Node.js nodes). NaN, ±Infinity and -0 stay: the encoders
//     write them as Node's do on each wire, and ClientArgs as JSON.stringify
//     writes them to clients;
//   - a *time.Time becomes a time.Time (a Date, as the encoders write it);
//   - *strings.Reader is text, as the library writes it: a string;
//   - []any and map[string]any are walked, to any depth up to
//     notepack.MaxEncodeDepth; a notepack.Map becomes a map[string]any (the
//     library's encoder finds binary in those only);
//   - anything else (structs, typed maps and slices, json.Marshaler and
//     encoding.TextMarshaler values, named scalar types) becomes what
//     JSON.parse makes of encoding/json's text for it (objects as
//     map[string]any), which is what the library writes to local clients
//     for it; binary inside a struct is therefore base64 text there, as it
//     is locally.
//
// Errors wrap notepack.ErrUnsupported: functions (an ack callback is not an
// argument), channels, complex numbers, structs whose content encoding/json
// would drop (no exported field, a byte buffer in a field), a reader that
// fails, values nested too deeply or cyclic. The caller's slices and maps
// are never modified: what changes is copied.
func Payload(args []any) ([]any, error) {
	return walker{}.list(args, 0)
}

// PayloadValue is Payload for one value (an ack's argument).
func PayloadValue(v any) (any, error) {
	out, _, err := walker{}.value(v, 0)
	return out, err
}

// ClientArgs returns a payload made by Payload as JSON.stringify sees it,
// for the library's JSON encoder, which would write some values otherwise
// or fail on them: NaN and ±Infinity become nil (null), -0 becomes 0, and a
// time.Time its Date.prototype.toJSON string. Without such values it
// returns args itself.
func ClientArgs(args []any) []any {
	out, err := ClientPayload(args)
	if err != nil {
		return args // not from Payload: left to the library as it is
	}
	return out
}

// ClientPayload is Payload followed by ClientArgs in one walk, for what
// another node sent to be delivered to this node's clients. Decoded values
// only fail for their depth.
func ClientPayload(args []any) ([]any, error) {
	return walker{clients: true}.list(args, 0)
}

var errPayloadTooDeep = fmt.Errorf("%w: payload nested more than %d levels deep (or cyclic)", notepack.ErrUnsupported, notepack.MaxEncodeDepth)

// walker walks payloads; with clients set it also applies ClientArgs.
type walker struct{ clients bool }

// value returns v as Payload (or ClientArgs) describes, and whether that
// differs from v.
func (w walker) value(v any, depth int) (any, bool, error) {
	if depth > notepack.MaxEncodeDepth {
		return nil, false, errPayloadTooDeep
	}
	switch x := v.(type) {
	case nil, string, bool, int8, int16, int32, uint8, uint16, uint32:
		return v, false, nil
	case float64:
		return w.float(x, v)
	case int:
		return payloadInt(int64(x), v)
	case int64:
		return payloadInt(x, v)
	case uint64:
		if x > 1<<53 {
			return float64(x), true, nil
		}
		return v, false, nil
	case []byte:
		if x == nil {
			return []byte{}, true, nil
		}
		return v, false, nil
	case time.Time:
		if w.clients {
			return jsISOString(x), true, nil
		}
		return v, false, nil
	case []any:
		out, err := w.list(x, depth)
		return out, err == nil && !sameSlice(out, x), err
	case map[string]any:
		return w.object(x, depth)
	case notepack.Map:
		return w.ordered(x, depth)
	}
	out, err := w.other(v, depth)
	return out, true, err
}

// float is a number's wire form, or with clients its JSON.stringify form.
func (w walker) float(f float64, v any) (any, bool, error) {
	switch {
	case !w.clients:
		return v, false, nil
	case math.IsNaN(f) || math.IsInf(f, 0):
		return nil, true, nil
	case f == 0 && math.Signbit(f):
		return 0.0, true, nil
	}
	return v, false, nil
}

// other handles the values outside the common dynamic types.
func (w walker) other(v any, depth int) (any, error) {
	switch x := v.(type) {
	case float32:
		out, _, err := w.value(float64(x), depth)
		return out, err
	case uint:
		out, _, err := w.value(uint64(x), depth)
		return out, err
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("%w: json.Number %q: %w", notepack.ErrUnsupported, string(x), err)
		}
		out, _, err := w.value(f, depth)
		return out, err
	case *time.Time:
		if x == nil {
			return nil, nil
		}
		out, _, err := w.value(*x, depth)
		return out, err
	case *strings.Reader:
		var b strings.Builder
		_, err := x.WriteTo(&b)
		return b.String(), err
	}
	if data, ok, err := notepack.BinaryBytes(v); ok {
		return data, err
	}
	return w.reflect(v, depth)
}

// reflect handles readers, named scalar types, and values that
// encoding/json writes.
func (w walker) reflect(v any, depth int) (any, error) {
	rv := reflect.ValueOf(v)
	if hasJSONForm(v) {
		return w.json(v, depth)
	}
	if r, ok := v.(io.Reader); ok && !(rv.Kind() == reflect.Pointer && rv.IsNil()) {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("%w: reading %T: %w", notepack.ErrUnsupported, v, err)
		}
		return data, nil
	}
	if scalar, ok := baseScalar(rv); ok {
		out, _, err := w.value(scalar, depth)
		return out, err
	}
	if rv.Kind() == reflect.Func || rv.Kind() == reflect.Chan || rv.Kind() == reflect.Complex64 || rv.Kind() == reflect.Complex128 {
		return nil, fmt.Errorf("%w: %T is not a value a peer can receive", notepack.ErrUnsupported, v)
	}
	return w.json(v, depth)
}

// json is what JSON.parse makes of encoding/json's text for v.
func (w walker) json(v any, depth int) (any, error) {
	parsed, err := notepack.JSONValue(v)
	if err != nil {
		return nil, err
	}
	out, _, err := w.value(parsed, depth)
	return out, err
}

// hasJSONForm reports whether v decides its JSON (or text) form itself.
func hasJSONForm(v any) bool {
	switch v.(type) {
	case json.Marshaler, encoding.TextMarshaler:
		return true
	}
	return false
}

// baseScalar returns a named bool, number or string type's value as its
// base type.
func baseScalar(rv reflect.Value) (any, bool) {
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	case reflect.String:
		return rv.String(), true
	}
	return nil, false
}

func payloadInt(n int64, v any) (any, bool, error) {
	if n > 1<<53 || n < -(1<<53) {
		return float64(n), true, nil
	}
	return v, false, nil
}

// list returns items as Payload describes them, copying the slice only if
// an item changed.
func (w walker) list(items []any, depth int) ([]any, error) {
	out := items
	for i, item := range items {
		v, changed, err := w.value(item, depth+1)
		if err != nil {
			return nil, err
		}
		if changed {
			if sameSlice(out, items) {
				out = append([]any(nil), items...)
			}
			out[i] = v
		}
	}
	return out, nil
}

func (w walker) object(m map[string]any, depth int) (any, bool, error) {
	var out map[string]any
	for k, item := range m {
		v, changed, err := w.value(item, depth+1)
		if err != nil {
			return nil, false, err
		}
		if changed {
			if out == nil {
				out = make(map[string]any, len(m))
				for k2, v2 := range m {
					out[k2] = v2
				}
			}
			out[k] = v
		}
	}
	if out == nil {
		return m, false, nil
	}
	return out, true, nil
}

// ordered turns a Map into a map[string]any: the library's encoder looks
// for binary in map[string]any only (inside a Map it would write a Buffer's
// JSON form to local clients while other nodes send binary), and writes
// both kinds' keys in its own order anyway.
func (w walker) ordered(m notepack.Map, depth int) (any, bool, error) {
	if m == nil {
		return nil, true, nil
	}
	out := make(map[string]any, len(m))
	for _, kv := range m {
		v, _, err := w.value(kv.Value, depth+1)
		if err != nil {
			return nil, false, err
		}
		out[kv.Key] = v
	}
	return out, true, nil
}

// sameSlice reports whether a and b share their first element (both are
// views of one array), which is how list tells that it copied.
func sameSlice(a, b []any) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// MaxClientAttachments is socketio.MaxClientAttachments for the packages
// that do not import the core (the emitter): the most binary attachments a
// packet to socket.io clients may carry (socket.io-parser 4.2 drops the
// connection of a packet with more). adapter's tests keep the two equal.
const MaxClientAttachments = 10

// BroadcastPayload is Payload for a broadcast this process sends to the
// cluster's clients: a payload with more attachments than socket.io
// clients accept is an error too.
func BroadcastPayload(args []any) ([]any, error) {
	data, err := Payload(args)
	if err != nil {
		return nil, err
	}
	if n := Attachments(data); n > MaxClientAttachments {
		return nil, fmt.Errorf("%d binary attachments, more than the %d socket.io clients accept", n, MaxClientAttachments)
	}
	return data, nil
}

// Attachments returns how many binary values ([]byte) a payload made by
// Payload holds, at any depth: the attachments of the packet its clients
// get.
func Attachments(args []any) int {
	n := 0
	for _, v := range args {
		n += attachmentsIn(v, 0)
	}
	return n
}

func attachmentsIn(v any, depth int) int {
	if depth > notepack.MaxEncodeDepth {
		return 0 // Payload refuses such a value first
	}
	switch x := v.(type) {
	case []byte:
		return 1
	case []any:
		n := 0
		for _, e := range x {
			n += attachmentsIn(e, depth+1)
		}
		return n
	case map[string]any:
		n := 0
		for _, e := range x {
			n += attachmentsIn(e, depth+1)
		}
		return n
	}
	return 0
}
