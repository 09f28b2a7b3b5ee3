package notepack

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"time"
)

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%#v): %v", v, err)
	}
	return b
}

func wantHex(t *testing.T, v any, want string) {
	t.Helper()
	if got := hex.EncodeToString(mustMarshal(t, v)); got != want {
		t.Fatalf("Marshal(%#v) = %s, want %s", v, got, want)
	}
}

// orderedKeys marshals v and lists the keys of the resulting map in wire order.
func orderedKeys(t *testing.T, v any) []string {
	t.Helper()
	decoded, err := DecodeOrdered(mustMarshal(t, v))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := decoded.(Map)
	if !ok {
		t.Fatalf("decoded %T, want Map", decoded)
	}
	keys := make([]string, len(m))
	for i, kv := range m {
		keys[i] = kv.Key
	}
	return keys
}

func TestMarshalGoMapKeysInJSOrder(t *testing.T) {
	m := map[string]any{"b": 1, "a": 2, "10": 3, "9": 4, "01": 5, "-1": 6, "4294967295": 7, "4294967294": 8}
	got := strings.Join(orderedKeys(t, m), " ")
	want := "9 10 4294967294 -1 01 4294967295 a b"
	if got != want {
		t.Fatalf("key order %q, want %q", got, want)
	}
	first := mustMarshal(t, m)
	for i := 0; i < 20; i++ {
		if string(mustMarshal(t, m)) != string(first) {
			t.Fatal("Marshal of a Go map is not deterministic")
		}
	}
}

func TestMarshalMapKeepsGivenOrder(t *testing.T) {
	wantHex(t, Map{{"z", 1}, {"a", 2}, {"1", 3}}, "83a17a01a16102a13103")
	wantHex(t, Map(nil), "c0")
	wantHex(t, Map{}, "80")
}

func TestMarshalNumericMapKeys(t *testing.T) {
	if got := strings.Join(orderedKeys(t, map[int]string{10: "a", 9: "b", -3: "c"}), " "); got != "9 10 -3" {
		t.Fatalf("int keys in order %q", got)
	}
	if got := strings.Join(orderedKeys(t, map[float64]int{1.5: 1, 1e21: 2}), " "); got != "1.5 1e+21" {
		t.Fatalf("float keys in order %q", got)
	}
	if _, err := Marshal(map[[2]int]int{{1, 2}: 3}); err == nil || !strings.HasPrefix(err.Error(), "notepack: ") {
		t.Fatalf("array-keyed map: err = %v, want a notepack error", err)
	}
}

func TestMarshalNilAndEmpty(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{[]any(nil), "c0"}, {[]string(nil), "c0"}, {map[string]any(nil), "c0"}, {[]byte(nil), "c0"},
		{(*time.Time)(nil), "c0"}, {map[string]int(nil), "c0"}, {[]int(nil), "c0"},
		{[]any{}, "90"}, {[]string{}, "90"}, {map[string]any{}, "80"}, {[]byte{}, "c400"},
	}
	for _, c := range cases {
		wantHex(t, c.in, c.want)
	}
}

func TestMarshalNumbers(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{json.Number("42"), "2a"},
		{json.Number("-1.5"), "cbbff8000000000000"},
		{json.Number("1e400"), "cb7ff0000000000000"},
		{json.Number("9007199254740993"), "cf0020000000000000"}, // rounded like Number("9007199254740993")
		// Integers beyond ±2^53 are the JavaScript numbers they stand for.
		{uint64(math.MaxUint64), "cb43f0000000000000"}, // 2^64, beyond uint64: float64
		{int64(1<<53 + 1), "cf0020000000000000"},       // 2^53
		{1<<53 + 3, "cf0020000000000004"},              // int: 2^53 + 4, ties to even
		{uint(1<<60 + 1), "cf1000000000000000"},        // 2^60
		{int64(-(1<<53 + 1)), "d3ffe0000000000000"},    // -2^53
		{int64(math.MinInt64), "d38000000000000000"},
		{0x1p63, "cf8000000000000000"},
		{float32(0.1), "cb3fb99999a0000000"},
		{time.Duration(5), "05"},
	}
	for _, c := range cases {
		wantHex(t, c.in, c.want)
	}
	if _, err := Marshal(json.Number("twelve")); err == nil || !strings.HasPrefix(err.Error(), "notepack: ") {
		t.Fatalf("bad json.Number: err = %v", err)
	}
}

func TestMarshalRawJSONBehavesLikeJSONParse(t *testing.T) {
	raw := json.RawMessage(`{"b":1,"a":[true,null,"x",2.5],"b":{"2":0,"z":1,"1":2}}`)
	decoded, err := DecodeOrdered(mustMarshal(t, raw))
	if err != nil {
		t.Fatal(err)
	}
	want := Map{{"b", Map{{"1", int64(2)}, {"2", int64(0)}, {"z", int64(1)}}}, {"a", []any{true, nil, "x", 2.5}}}
	if !equalValues(decoded, want) {
		t.Fatalf("got %#v, want %#v", decoded, want)
	}
	for _, bad := range []string{`{"a":}`, `[1,2`, `1 2`, ``} {
		if _, err := Marshal(json.RawMessage(bad)); err == nil {
			t.Errorf("Marshal(RawMessage %q) succeeded", bad)
		}
	}
}

type taggedStruct struct {
	Type     int            `msgpack:"type"`
	Room     string         `json:"room"`
	Both     string         `msgpack:"m" json:"j"`
	Optional string         `msgpack:"optional,omitempty"`
	Skipped  string         `msgpack:"-"`
	Plain    bool           // no tag: the Go field name is the key
	Nested   map[string]any `msgpack:"nested"`
	hidden   int
}

func TestMarshalStructUsesTagsInFieldOrder(t *testing.T) {
	v := taggedStruct{Type: 2, Room: "r1", Both: "x", Skipped: "no", Plain: true,
		Nested: map[string]any{"n": 1.5, "i": 3.0}, hidden: 1}
	if got := strings.Join(orderedKeys(t, v), " "); got != "type room m Plain nested" {
		t.Fatalf("struct keys %q", got)
	}
	decoded, err := Decode(mustMarshal(t, &v))
	if err != nil {
		t.Fatal(err)
	}
	nested := decoded.(map[string]any)["nested"]
	if !equalValues(nested, map[string]any{"n": 1.5, "i": int64(3)}) {
		t.Fatalf("nested = %#v; whole floats must become integers inside structs too", nested)
	}
}

func TestMarshalTimeKeepsNanoseconds(t *testing.T) {
	tm := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", -7200))
	decoded, err := Decode(mustMarshal(t, tm))
	if err != nil {
		t.Fatal(err)
	}
	if got := decoded.(time.Time); !got.Equal(tm) || got.Location() != time.UTC {
		t.Fatalf("decoded %v, want %v in UTC", got, tm)
	}
}

func TestMarshalTextAndJSONMarshalers(t *testing.T) {
	wantHex(t, net.ParseIP("127.0.0.1").To4(), "a93132372e302e302e31")
	wantHex(t, jsonOnly("hi"), "a26869")
}

func TestMarshalRejectsCyclesAndUnsupported(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	if _, err := Marshal(cyclic); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("cyclic map: err = %v, want ErrUnsupported", err)
	}
	if _, err := Marshal(make(chan int)); err == nil || !strings.HasPrefix(err.Error(), "notepack: ") {
		t.Fatalf("chan: err = %v", err)
	}
	if _, err := Marshal(func() {}); err == nil {
		t.Fatal("func encoded without error")
	}
}

func TestMarshalReturnsIndependentBuffers(t *testing.T) {
	a := mustMarshal(t, "first")
	b := mustMarshal(t, "second")
	if string(a[1:]) != "first" || string(b[1:]) != "second" {
		t.Fatalf("pooled buffer leaked between calls: %q %q", a, b)
	}
}

func TestMapGetAndJSON(t *testing.T) {
	m := Map{{"b", 1}, {"a", []any{"x", Map{{"z", nil}}}}}
	if v, ok := m.Get("b"); !ok || v != 1 {
		t.Fatalf("Get(b) = %v, %v", v, ok)
	}
	if _, ok := m.Get("missing"); ok {
		t.Fatal("Get(missing) found something")
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"b":1,"a":["x",{"z":null}]}` {
		t.Fatalf("MarshalJSON = %s", out)
	}
	if out, _ := json.Marshal(Map(nil)); string(out) != "null" {
		t.Fatalf("nil Map JSON = %s", out)
	}
}

func TestJSNumberString(t *testing.T) {
	// Expected strings are String(x) as printed by Node 20.
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-1, "-1"}, {1.5, "1.5"},
		{1e21, "1e+21"}, {1e20, "100000000000000000000"}, {123e-20, "1.23e-18"},
		{1e-6, "0.000001"}, {1e-7, "1e-7"}, {0x1p53, "9007199254740992"},
		{5e-324, "5e-324"}, {math.MaxFloat64, "1.7976931348623157e+308"},
		{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
		{0.1, "0.1"}, {100, "100"}, {1.23456e-7, "1.23456e-7"}, {-123.456, "-123.456"},
		{1.5e300, "1.5e+300"}, {0x1p64, "18446744073709552000"}, {0.000001234, "0.000001234"},
		{123456789012345680000, "123456789012345680000"},
	}
	for _, c := range cases {
		if got := jsNumberString(c.in); got != c.want {
			t.Errorf("jsNumberString(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestArrayIndex(t *testing.T) {
	for key, want := range map[string]bool{
		"0": true, "7": true, "4294967294": true, "4294967295": false, "01": false,
		"-1": false, "": false, "1.5": false, "a": false, "99999999999": false,
	} {
		if _, got := arrayIndex(key); got != want {
			t.Errorf("arrayIndex(%q) = %v, want %v", key, got, want)
		}
	}
}
