package notepack

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzDecode checks that Decode never panics on arbitrary input, that its
// errors are package errors, and that decoding is stable: after one
// Marshal/Decode round trip (which turns whole floats into integers, as
// JavaScript cannot tell them apart) further round trips change nothing.
func FuzzDecode(f *testing.F) {
	g := loadGolden(f)
	for _, section := range []map[string]goldenCase{g.Notepack, g.Msgpackjs, g.Decode} {
		for _, name := range sortedNames(section) {
			f.Add(section[name].bytes(f))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v1, err := Decode(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "notepack: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			if _, oerr := DecodeOrdered(data); oerr == nil {
				t.Fatalf("DecodeOrdered accepts what Decode rejects (%v)", err)
			}
			return
		}
		ordered, err := DecodeOrdered(data)
		if err != nil {
			t.Fatalf("DecodeOrdered rejects what Decode accepts: %v", err)
		}
		if !reflect.DeepEqual(describe(ordered), describe(v1)) {
			t.Fatalf("DecodeOrdered and Decode disagree:\n%s\n%s", toJSON(describe(ordered)), toJSON(describe(v1)))
		}
		m1, err := Marshal(v1)
		if errors.Is(err, errEncodeTooDeep) {
			return // accepted from peers, too deep to send on
		}
		if err != nil {
			t.Fatalf("Marshal(Decode(x)): %v", err)
		}
		v2, err := Decode(m1)
		if err != nil {
			t.Fatalf("Decode(Marshal(Decode(x))): %v", err)
		}
		if !jsEqual(v1, v2) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", v1, v2)
		}
		m2, err := Marshal(v2)
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(m1, m2) {
			t.Fatalf("encoding not stable:\n%x\n%x", m1, m2)
		}
		v3, err := Decode(m2)
		if err != nil || !equalValues(v2, v3) {
			t.Fatalf("second round trip changed the value (%v):\n%#v\n%#v", err, v2, v3)
		}
	})
}

// jsEqual compares decoded values as JavaScript would see them: numbers by
// value whatever their Go type.
func jsEqual(a, b any) bool {
	if x, ok := numberOf(a); ok {
		y, ok := numberOf(b)
		return ok && x.equal(y)
	}
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, item := range x {
			other, present := y[k]
			if !present || !jsEqual(item, other) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// number is a decoded number: an exact integer or a float.
type number struct {
	isInt bool
	neg   bool
	mag   uint64
	f     float64
}

func numberOf(v any) (number, bool) {
	switch x := v.(type) {
	case int64:
		if x > maxSafeInteger || x < -maxSafeInteger {
			return number{f: float64(x)}, true
		}
		if x < 0 {
			return number{isInt: true, neg: true, mag: uint64(-(x + 1)) + 1}, true
		}
		return number{isInt: true, mag: uint64(x)}, true
	case uint64:
		if x > maxSafeInteger {
			return number{f: float64(x)}, true
		}
		return number{isInt: true, mag: x}, true
	case float64:
		return number{f: x}, true
	}
	return number{}, false
}

func (n number) equal(o number) bool {
	switch {
	case n.isInt && o.isInt:
		return n.neg == o.neg && n.mag == o.mag || n.mag == 0 && o.mag == 0
	case !n.isInt && !o.isInt:
		return n.f == o.f || math.IsNaN(n.f) && math.IsNaN(o.f)
	case n.isInt:
		return o.equal(n)
	}
	// n is a float, o an integer: only whole floats in range can match.
	if n.f != math.Trunc(n.f) || math.IsInf(n.f, 0) || (n.f < 0) != o.neg && o.mag != 0 {
		return false
	}
	if n.f < 0 {
		return n.f >= -0x1p63 && uint64(-n.f) == o.mag
	}
	return n.f < 0x1p64 && uint64(n.f) == o.mag
}

func TestJSEqualNumbers(t *testing.T) {
	if !jsEqual(3.0, int64(3)) || !jsEqual(-0x1p63, int64(math.MinInt64)) || !jsEqual(0x1p63, uint64(1<<63)) ||
		!jsEqual(math.Copysign(0, -1), int64(0)) || !jsEqual(math.NaN(), math.NaN()) {
		t.Fatal("jsEqual must accept equal numbers of different Go types")
	}
	if jsEqual(3.5, int64(3)) || jsEqual(-3.0, int64(3)) || jsEqual(int64(-1), uint64(math.MaxUint64)) || jsEqual(1e20, uint64(7766279631452241920)) {
		t.Fatal("jsEqual must reject different numbers")
	}
}

// FuzzJSONText checks MarshalJSONText against encoding/json (HTML escaping
// off) on every value the decoder builds, and on the same values as Maps,
// once the values are made what JSON.stringify sees (see stringifyForm).
func FuzzJSONText(f *testing.F) {
	for _, s := range []string{"\x92\xa1a\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00", "\x81\xa3<&>\xa4\xe2\x80\xa8\x01", "\x93\xcb\x44\x4b\x1a\xe4\xd6\xe2\xef\x50\xcb\x3e\xb0\xc6\xf7\xa0\xb5\xed\x8d\xc4\x01\x02"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ordered := range []bool{false, true} {
			v, err := decodeWith(data, ordered)
			if err != nil {
				return
			}
			var ref bytes.Buffer
			enc := json.NewEncoder(&ref)
			enc.SetEscapeHTML(false)
			refErr := enc.Encode(stringifyForm(v))
			trimNewline(&ref)
			got, err := MarshalJSONText(v)
			if errors.Is(err, errEncodeTooDeep) {
				continue
			}
			if (err != nil) != (refErr != nil) {
				t.Fatalf("error %v, encoding/json %v", err, refErr)
			}
			if err == nil && !bytes.Equal(got, ref.Bytes()) {
				t.Fatalf("MarshalJSONText %s\nencoding/json   %s", got, ref.Bytes())
			}
		}
	})
}

// stringifyForm replaces, in a decoded value, what JSON.stringify writes
// differently from encoding/json by what encoding/json then writes the same:
// NaN and ±Inf by nil, -0 by 0, integers beyond ±2^53 by the float64 they
// stand for, and bytes by a Buffer's toJSON object.
func stringifyForm(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		if x == 0 {
			return 0.0
		}
	case int64:
		if x > maxSafeInteger || x < -maxSafeInteger {
			return float64(x)
		}
	case uint64:
		if x > maxSafeInteger {
			return float64(x)
		}
	case []byte:
		data := make([]any, len(x))
		for i, c := range x {
			data[i] = int(c)
		}
		return Map{{"type", "Buffer"}, {"data", data}}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stringifyForm(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = stringifyForm(e)
		}
		return out
	case Map:
		out := make(Map, len(x))
		for i, kv := range x {
			out[i] = KV{kv.Key, stringifyForm(kv.Value)}
		}
		return out
	}
	return v
}
