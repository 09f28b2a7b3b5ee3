package notepack

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeForgedLengthsAllocateLittle feeds headers that promise up to
// 4 GiB of content in a few bytes: each must fail without allocating for it.
func TestDecodeForgedLengthsAllocateLittle(t *testing.T) {
	inputs := []string{
		"ddffffffff", "dd7fffffff01", "dfffffffff", "df7fffffffa16101",
		"dbffffffff61", "c6ffffffff01", "c9ffffff0005", "c9ffffffffff00",
		"dc1000" + strings.Repeat("c0", 16), "de1000a161", "9fdd7fffffff",
		"81a161ddffffffff", "c7ff05", "daffff", "c5ffff00",
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const rounds = 50
	for i := 0; i < rounds; i++ {
		for _, in := range inputs {
			v, err := Decode(mustHex(t, in))
			if err == nil {
				t.Fatalf("Decode(%s) = %#v, want an error", in, v)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("Decode(%s): %v, want a truncation error", in, err)
			}
		}
	}
	runtime.ReadMemStats(&after)
	perDecode := (after.TotalAlloc - before.TotalAlloc) / uint64(rounds*len(inputs))
	if perDecode > 4096 {
		t.Fatalf("forged headers cost %d bytes per Decode; allocation must be bounded by the input", perDecode)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := map[string]string{
		"":                                 "truncated",
		"c1":                               "invalid code 0xc1",
		"c0c0":                             "1 trailing bytes",
		"92c0":                             "exceeds",
		"92c0cd00":                         "truncated",
		"cb0000":                           "truncated",
		"d6ff0000":                         "exceeds",
		"82a161c0":                         "exceeds", // 2 entries promised, 1 present
		strings.Repeat("91", 20000) + "c0": "nested too deeply",
	}
	for in, want := range cases {
		_, err := Decode(mustHex(t, in))
		if err == nil || !strings.HasPrefix(err.Error(), "notepack: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%s): err = %v, want a notepack error containing %q", clip(in), err, want)
		}
	}
}

func TestDecodeAcceptsDeepButBoundedNesting(t *testing.T) {
	in := mustHex(t, strings.Repeat("91", 1000)+"2a")
	v, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		v = v.([]any)[0]
	}
	if v != int64(42) {
		t.Fatalf("innermost value %#v", v)
	}
}

func TestDecodeCopiesBinary(t *testing.T) {
	in := mustHex(t, "92c403010203a3616263")
	v, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0
	}
	got := v.([]any)
	if !bytes.Equal(got[0].([]byte), []byte{1, 2, 3}) || got[1] != "abc" {
		t.Fatalf("decoded values alias the input buffer: %#v", got)
	}
}

func TestDecodeOrderedKeepsWireOrder(t *testing.T) {
	// {b:1, a:2, 1:3, [3]:"b", b:4}: the repeated key keeps its first slot
	// and its last value, like properties of a JavaScript object.
	v, err := DecodeOrdered(mustHex(t, "85a16201a161020103"+"9103a162"+"a16204"))
	if err != nil {
		t.Fatal(err)
	}
	want := Map{{"b", int64(4)}, {"a", int64(2)}, {"1", int64(3)}, {"3", "b"}}
	if !equalValues(v, want) {
		t.Fatalf("DecodeOrdered = %#v, want %#v", v, want)
	}
}

type decodedPacket struct {
	Type int            `msgpack:"type"`
	Data []any          `json:"data"`
	Nsp  string         `msgpack:"nsp"`
	At   time.Time      `msgpack:"at"`
	Meta map[string]any `msgpack:"meta"`
	Any  any            `msgpack:"any"`
	Ptr  *[]any         `msgpack:"ptr"`
}

func TestUnmarshalIntoStruct(t *testing.T) {
	in := Map{
		{"type", 2},
		{"data", []any{"ev", 7, 1.5, []byte{1}, testMillis, map[string]any{"n": -3}}},
		{"nsp", "/"},
		{"at", testMillis},
		{"meta", map[string]any{"deep": []any{uint64(1 << 63), 300}}},
		{"any", map[string]any{"k": 65536}},
		{"ptr", []any{int8(-5)}},
	}
	data := mustMarshal(t, in)
	var p decodedPacket
	if err := Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	wantData := []any{"ev", int64(7), 1.5, []byte{1}, testMillis, map[string]any{"n": int64(-3)}}
	switch {
	case p.Type != 2 || p.Nsp != "/":
		t.Fatalf("scalars: %+v", p)
	case !equalValues(p.Data, wantData):
		t.Fatalf("Data = %#v, want %#v", p.Data, wantData)
	case !p.At.Equal(testMillis) || p.At.Location() != time.UTC:
		t.Fatalf("At = %v", p.At)
	case !equalValues(p.Meta, map[string]any{"deep": []any{uint64(1 << 63), int64(300)}}):
		t.Fatalf("Meta = %#v", p.Meta)
	case !equalValues(p.Any, map[string]any{"k": int64(65536)}):
		t.Fatalf("Any = %#v", p.Any)
	case p.Ptr == nil || !equalValues(*p.Ptr, []any{int64(-5)}):
		t.Fatalf("Ptr = %#v", p.Ptr)
	}
}

func TestUnmarshalGenericDestinations(t *testing.T) {
	data := mustHex(t, "82a162d40000a16191c401aa") // {b: undefined, a: [<aa>]}
	var anyV any
	var m map[string]any
	var ordered Map
	for _, dst := range []any{&anyV, &m, &ordered} {
		if err := Unmarshal(data, dst); err != nil {
			t.Fatalf("Unmarshal into %T: %v", dst, err)
		}
	}
	want := map[string]any{"b": nil, "a": []any{[]byte{0xaa}}}
	if !equalValues(anyV, want) || !equalValues(m, want) {
		t.Fatalf("any = %#v, map = %#v", anyV, m)
	}
	if !equalValues(ordered, Map{{"b", nil}, {"a", []any{[]byte{0xaa}}}}) {
		t.Fatalf("Map = %#v", ordered)
	}
	var list []any
	if err := Unmarshal(mustHex(t, "9201c0"), &list); err != nil || !equalValues(list, []any{int64(1), nil}) {
		t.Fatalf("[]any = %#v, %v", list, err)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	var n int
	var s struct {
		N int `msgpack:"n"`
	}
	var m Map
	cases := []struct {
		data []byte
		dst  any
	}{
		{mustHex(t, "01"), nil},
		{mustHex(t, "01"), n},
		{mustHex(t, "01"), (*int)(nil)},
		{mustHex(t, "c1"), &n},
		{mustHex(t, "81a16ea178"), &s}, // n is a string
		{mustHex(t, "9101"), &m},
	}
	for i, c := range cases {
		if err := Unmarshal(c.data, c.dst); err == nil || !strings.HasPrefix(err.Error(), "notepack: ") {
			t.Errorf("case %d: err = %v, want a notepack error", i, err)
		}
	}
	if err := Unmarshal(mustHex(t, "2a"), &n); err != nil || n != 42 {
		t.Fatalf("Unmarshal into int: %d, %v", n, err)
	}
}
