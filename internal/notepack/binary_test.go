package notepack

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/zishang520/socket.io/v3/pkg/types"
)

// rawBuffer is a binary type of another package: a Bytes method and nothing
// else, as the native core's buffers will be.
type rawBuffer struct{ data []byte }

func (r *rawBuffer) Bytes() []byte { return r.data }

func TestMarshalBinaryTypes(t *testing.T) {
	consumed := types.NewBytesBuffer([]byte{1, 2, 3})
	_, _ = consumed.ReadByte() // what is left is what Bytes (and a reader) sees
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"library BytesBuffer", types.NewBytesBuffer([]byte{0, 0xff, 0x10}), "c40300ff10"},
		{"partly read BytesBuffer", consumed, "c4020203"},
		{"empty BytesBuffer", types.NewBytesBuffer(nil), "c400"},
		{"bytes.Buffer", bytes.NewBufferString("hi"), "c4026869"},
		{"own Binary type", &rawBuffer{[]byte{7}}, "c40107"},
		{"nil Binary pointer", (*rawBuffer)(nil), "c0"},
		{"library StringBuffer is text", types.NewStringBufferString("hi"), "a26869"},
		{"big.Int is a number", big.NewInt(42), "2a"},
		{"nested in maps and arrays", map[string]any{"a": []any{types.NewBytesBuffer([]byte{9})}}, "81a16191c40109"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantHex(t, c.in, c.want) })
	}
	// Marshal reads a buffer without consuming it.
	b := types.NewBytesBuffer([]byte{5})
	wantHex(t, b, "c40105")
	wantHex(t, b, "c40105")
}

func TestMarshalLargeBinary(t *testing.T) {
	blob := bytesOf(1 << 20)
	out := mustMarshal(t, []any{"ev", types.NewBytesBuffer(blob)})
	v, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.([]any)[1].([]byte); !bytes.Equal(got, blob) {
		t.Fatalf("1 MiB binary came back as %d bytes", len(got))
	}
}

type opaque struct{ n int }

type withOpaqueField struct {
	Name  string
	Inner opaque
}

type withBufferField struct {
	Buf *bytes.Buffer
}

type embedsMutex struct {
	sync.Mutex
	Name string
}

type onlyEmbeddedOpaque struct{ opaque }

func TestMarshalRefusesWhatItWouldLose(t *testing.T) {
	deep := any("leaf")
	for range maxEncodeDepth + 1 {
		deep = []any{deep}
	}
	for name, v := range map[string]any{
		"chan":                        make(chan int),
		"func":                        func() {},
		"complex":                     complex(1, 2),
		"struct without exported":     opaque{n: 1},
		"pointer to such a struct":    &opaque{n: 1},
		"such a struct as a field":    withOpaqueField{Name: "x"},
		"only an embedded opaque":     onlyEmbeddedOpaque{opaque{n: 2}},
		"byte buffer inside a struct": withBufferField{Buf: bytes.NewBufferString("x")},
		"mutex by value":              sync.Mutex{},
		"zero BytesBuffer":            &types.BytesBuffer{},
		"strings.Reader":              strings.NewReader("text"),
		"bufio.Reader":                bufio.NewReader(strings.NewReader("x")),
		"struct-keyed map":            map[[2]int]int{{1, 2}: 3},
		"too deep":                    deep,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Marshal(v); !errors.Is(err, ErrUnsupported) {
				t.Errorf("Marshal: err = %v, want ErrUnsupported", err)
			}
			if _, err := MarshalJSONText(v); err == nil {
				t.Errorf("MarshalJSONText accepted it")
			}
		})
	}
	// What loses nothing is fine: an embedded mutex next to exported
	// fields, an empty struct, nesting just within the limit.
	ok := any("leaf")
	for range maxEncodeDepth - 1 {
		ok = []any{ok}
	}
	for name, v := range map[string]any{"embedded mutex": &embedsMutex{Name: "x"}, "empty struct": struct{}{}, "deep enough": []any{ok}} {
		if _, err := Marshal(v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMarshalJSONTextAsJSONStringify(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{[]byte{0, 255}, `{"type":"Buffer","data":[0,255]}`},
		{[]byte{}, `{"type":"Buffer","data":[]}`},
		{[]byte(nil), `null`},
		{types.NewBytesBuffer([]byte{1}), `{"type":"Buffer","data":[1]}`},
		{types.NewStringBufferString("s"), `"s"`},
		{(*rawBuffer)(nil), `null`},
		{math.NaN(), `null`},
		{[]any{math.Inf(1), math.Inf(-1)}, `[null,null]`},
		{math.Copysign(0, -1), `0`},
		{float32(0.1), `0.10000000149011612`},
		{int64(1<<53 + 1), `9007199254740992`},
		{uint64(math.MaxUint64), `18446744073709552000`},
		{-(1 << 62), `-4611686018427388000`},
		{Map{{"b", []byte{1}}, {"n", math.NaN()}}, `{"b":{"type":"Buffer","data":[1]},"n":null}`},
	}
	for _, c := range cases {
		got, err := MarshalJSONText(c.in)
		if err != nil || string(got) != c.want {
			t.Errorf("MarshalJSONText(%#v) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestBinaryBytes(t *testing.T) {
	for name, c := range map[string]struct {
		in any
		ok bool
	}{
		"[]byte": {[]byte{1}, true}, "empty []byte": {[]byte{}, true}, "nil []byte": {[]byte(nil), false},
		"BytesBuffer": {types.NewBytesBuffer(nil), true}, "StringBuffer": {types.NewStringBuffer(nil), false},
		"big.Int": {big.NewInt(1), false}, "string": {"x", false}, "nil Binary": {(*rawBuffer)(nil), false},
		"zero BytesBuffer": {&types.BytesBuffer{}, true},
	} {
		if _, ok, _ := BinaryBytes(c.in); ok != c.ok {
			t.Errorf("%s: binary = %v, want %v", name, ok, c.ok)
		}
		if ok := IsBinary(c.in); ok != c.ok && name != "nil Binary" {
			t.Errorf("%s: IsBinary = %v, want %v", name, ok, c.ok)
		}
	}
	if _, _, err := BinaryBytes(&types.BytesBuffer{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a buffer whose Bytes panics: err = %v", err)
	}
}
