package notepack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendJSON writes v as encoding/json writes it with HTML escaping off,
// byte for byte, but walks the dynamic types messages are made of itself:
// encoding/json re-parses (compacts) what every nested Map.MarshalJSON
// returns, which made JSON envelopes several times slower to encode than
// msgpack ones. Other types go through encoding/json. Where encoding/json
// and JSON.stringify part, it writes what JSON.stringify writes for the
// equivalent JavaScript value, as Node peers do on the same channels: NaN
// and ±Infinity as null, -0 as 0, integers beyond ±2^53 as the float64
// they stand for, and binary (see Binary) as a Buffer's toJSON form,
// {"type":"Buffer","data":[...]}, rather than base64.
func appendJSON(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, errEncodeTooDeep
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return appendJSONInt(b, int64(x)), nil
	case int64:
		return appendJSONInt(b, x), nil
	case uint64:
		if x > maxSafeInteger {
			return appendJSONNumber(b, float64(x)), nil
		}
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		return appendJSONNumber(b, x), nil
	case float32:
		return appendJSONNumber(b, float64(x)), nil
	case []byte:
		if x != nil {
			return appendJSONBuffer(b, x), nil
		}
		return append(b, "null"...), nil
	case []any:
		if x != nil {
			return appendJSONList(b, len(x), func(b []byte, i int) ([]byte, error) { return appendJSON(b, x[i], depth+1) })
		}
		return append(b, "null"...), nil
	case []string:
		if x != nil {
			return appendJSONList(b, len(x), func(b []byte, i int) ([]byte, error) { return appendJSONString(b, x[i]), nil })
		}
		return append(b, "null"...), nil
	case map[string]any:
		return appendJSONStringMap(b, x, depth)
	case Map:
		return appendJSONMap(b, x, depth)
	}
	if isJSONOrText(v) {
		return appendJSONFallback(b, v)
	}
	if x, ok := v.(Binary); ok {
		if isNilPointer(v) {
			return append(b, "null"...), nil
		}
		data, err := contentOf(x)
		if err != nil {
			return nil, err
		}
		return appendJSONBuffer(b, data), nil
	}
	if r, ok := v.(io.Reader); ok {
		return nil, unsupported(reflect.TypeOf(r), "is a stream (read it into []byte first)")
	}
	if err := checkType(reflect.TypeOf(v)); err != nil {
		return nil, err
	}
	return appendJSONFallback(b, v)
}

// appendJSONInt writes an integer as JSON.stringify writes the number it
// stands for.
func appendJSONInt(b []byte, n int64) []byte {
	if n > maxSafeInteger || n < -maxSafeInteger {
		return appendJSONNumber(b, float64(n))
	}
	return strconv.AppendInt(b, n, 10)
}

// appendJSONNumber writes f as JSON.stringify does: null for NaN and the
// infinities, 0 for -0.
func appendJSONNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(b, "null"...)
	case f == 0:
		return append(b, '0')
	}
	return appendJSONFloat(b, f)
}

// appendJSONBuffer writes bytes as JSON.stringify writes a Node Buffer.
func appendJSONBuffer(b []byte, data []byte) []byte {
	b = append(b, `{"type":"Buffer","data":[`...)
	for i, c := range data {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(c), 10)
	}
	return append(b, "]}"...)
}

func appendJSONList(b []byte, n int, elem func([]byte, int) ([]byte, error)) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = elem(b, i); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendJSONStringMap writes keys sorted, as encoding/json does.
func appendJSONStringMap(b []byte, m map[string]any, depth int) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		if b, err = appendJSON(b, m[k], depth+1); err != nil {
			return nil, fmt.Errorf("notepack: value of %q: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

// appendJSONMap writes m's keys in slice order.
func appendJSONMap(b []byte, m Map, depth int) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '{')
	var err error
	for i, kv := range m {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, kv.Key), ':')
		if b, err = appendJSON(b, kv.Value, depth+1); err != nil {
			return nil, fmt.Errorf("notepack: value of %q: %w", kv.Key, err)
		}
	}
	return append(b, '}'), nil
}

// appendJSONFloat is encoding/json's float64 form, which is ECMAScript's:
// exponent only below 1e-6 and from 1e21 on, without a leading zero.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string form without HTML escaping:
// '"', '\\' and control characters escaped, invalid UTF-8 as \ufffd, and
// U+2028 and U+2029 escaped (JSON.stringify leaves those two as they are;
// JSON readers treat both forms alike).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}

// appendJSONFallback has encoding/json write v (HTML unescaped).
func appendJSONFallback(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	trimNewline(&buf)
	return append(b, buf.Bytes()...), nil
}
