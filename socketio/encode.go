package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// ErrUnencodable wraps the error of a value an emit cannot send (a channel,
// a function, a cycle, ...). Nothing is sent when an emit returns it.
var ErrUnencodable = errors.New("socketio: value cannot be encoded")

// maxDepth bounds nesting: a cyclic value fails instead of overflowing the
// stack.
const maxDepth = 1000

// appendJSON appends v as JSON.stringify would write the JavaScript value
// socket.io makes of it; binary ([]byte) becomes a placeholder and is
// appended to *att. Supported without reflection: nil, strings, bools, Go
// numbers, []byte, *Raw, json.RawMessage, []any, []string, map[string]any,
// map[string]string and json.Marshaler values; anything else goes through
// encoding/json (where []byte fields become base64 strings, as there).
// Numbers are written as JavaScript writes doubles (NaN and ±Inf as null).
func appendJSON(dst []byte, v any, att *[][]byte) ([]byte, error) {
	if att == nil {
		att = new([][]byte)
	}
	return appendValue(dst, v, att, 0)
}

func appendValue(dst []byte, v any, att *[][]byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, fmt.Errorf("%w: nested more than %d levels", ErrUnencodable, maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float64:
		return appendNumber(dst, x), nil
	case float32:
		return appendNumber(dst, float64(x)), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return dst, fmt.Errorf("%w: json.Number %q", ErrUnencodable, string(x))
		}
		return appendNumber(dst, f), nil
	case []byte:
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(*att)), 10)
		*att = append(*att, x)
		return append(dst, '}'), nil
	case *Raw:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return append(dst, x.text...), nil
	case json.RawMessage:
		return appendCompact(dst, x)
	case []any:
		return appendList(dst, x, att, depth)
	case []string:
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		return append(dst, ']'), nil
	case map[string]any:
		return appendObject(dst, x, att, depth)
	case map[string]string:
		keys := sortedKeys(x)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendString(dst, k), ':')
			dst = appendString(dst, x[k])
		}
		return append(dst, '}'), nil
	case json.Marshaler:
		if rv := reflect.ValueOf(x); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return append(dst, "null"...), nil
		}
		b, err := x.MarshalJSON()
		if err != nil {
			return dst, fmt.Errorf("%w: %T: %v", ErrUnencodable, v, err)
		}
		return appendCompact(dst, b)
	}
	return appendReflect(dst, v)
}

func appendList(dst []byte, items []any, att *[][]byte, depth int) ([]byte, error) {
	if items == nil {
		return append(dst, "null"...), nil
	}
	dst = append(dst, '[')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendValue(dst, it, att, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func appendObject(dst []byte, m map[string]any, att *[][]byte, depth int) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	keys := sortedKeys(m)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendString(dst, k), ':')
		var err error
		if dst, err = appendValue(dst, m[k], att, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendCompact appends JSON text without insignificant space, checking it.
func appendCompact(dst, text []byte) ([]byte, error) {
	b := jsonBuffers.Get().(*bytes.Buffer)
	defer jsonBuffers.Put(b)
	b.Reset()
	if err := json.Compact(b, text); err != nil {
		return dst, fmt.Errorf("%w: invalid JSON text: %v", ErrUnencodable, err)
	}
	return append(dst, b.Bytes()...), nil
}

var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// appendReflect encodes any other value with encoding/json (structs and the
// like), without its HTML escaping, which JSON.stringify does not do.
func appendReflect(dst []byte, v any) ([]byte, error) {
	b := jsonBuffers.Get().(*bytes.Buffer)
	defer jsonBuffers.Put(b)
	b.Reset()
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, fmt.Errorf("%w: %T: %v", ErrUnencodable, v, err)
	}
	return append(dst, bytes.TrimRight(b.Bytes(), "\n")...), nil
}

// appendNumber writes a double as JavaScript's Number.prototype.toString
// does (the form JSON.stringify uses); NaN and infinities become null.
func appendNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0') // -0 too
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Go writes 1e-07 where JavaScript writes 1e-7.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

func formatNumber(f float64) string { return string(appendNumber(nil, f)) }

const hexDigits = "0123456789abcdef"

// appendString writes s quoted as JSON.stringify does: only quotes,
// backslashes and control characters are escaped; invalid UTF-8 becomes
// U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
