package notepack

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

const goldenPath = "testdata/golden.json"

// goldenFile mirrors testdata/golden.json, written by testdata/gen.mjs.
type goldenFile struct {
	Versions  map[string]string     `json:"versions"`
	Notepack  map[string]goldenCase `json:"notepack"`
	Msgpackjs map[string]goldenCase `json:"msgpackjs"`
	Decode    map[string]goldenCase `json:"decode"`
}

// goldenCase is one captured value: the bytes a Node encoder wrote (or a
// hand-written input) and what the Node decoder made of them.
type goldenCase struct {
	Value   any    `json:"value"`
	Hex     string `json:"hex"`
	Decoded any    `json:"decoded"`
	Error   string `json:"error"`
}

func (c goldenCase) bytes(t testing.TB) []byte {
	t.Helper()
	b, err := hex.DecodeString(c.Hex)
	if err != nil {
		t.Fatalf("bad hex in golden file: %v", err)
	}
	return b
}

func loadGolden(t testing.TB) goldenFile {
	t.Helper()
	data, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("read goldens: %v", err)
	}
	var g goldenFile
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("parse goldens: %v", err)
	}
	return g
}

// TestGoldenFileComesFromNode re-runs gen.mjs with the installed Node
// packages and requires byte-identical output, which proves the committed
// goldens were produced by the real notepack.io and @msgpack/msgpack.
func TestGoldenFileComesFromNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required to verify the goldens (install Node.js 20+): %v", err)
	}
	out := filepath.Join(t.TempDir(), "golden.json")
	cmd := exec.Command(node, "testdata/gen.mjs", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.mjs failed (run `npm ci` in the repository root to install notepack.io "+
			"and @msgpack/msgpack): %v\n%s", err, msg)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatalf("testdata/golden.json differs from what gen.mjs produces now; " +
			"regenerate it with `node internal/notepack/testdata/gen.mjs` and review the diff")
	}
}

func TestGoldenVersions(t *testing.T) {
	g := loadGolden(t)
	want := map[string]string{"notepack.io": "3.0.1", "@msgpack/msgpack": "2.8.0"}
	if !reflect.DeepEqual(g.Versions, want) {
		t.Fatalf("goldens captured from %v, want %v", g.Versions, want)
	}
}

// TestMarshalMatchesNotepack encodes the Go equivalent of every notepack
// golden value and compares bytes.
func TestMarshalMatchesNotepack(t *testing.T) {
	g := loadGolden(t)
	cases := marshalCases()
	for _, name := range sortedNames(g.Notepack) {
		if _, ok := cases[name]; !ok {
			t.Errorf("golden %q has no Go equivalent in marshalCases", name)
		}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			golden, ok := g.Notepack[name]
			if !ok {
				t.Fatalf("no golden named %q", name)
			}
			want := golden.Hex
			if c.diverge != "" {
				if c.hex == golden.Hex {
					t.Fatalf("case marked divergent but notepack writes the same bytes")
				}
				want = c.hex
			}
			got, err := Marshal(c.in)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if h := hex.EncodeToString(got); h != want {
				t.Fatalf("Marshal bytes differ\n got %s\nwant %s", clip(h), clip(want))
			}
		})
	}
}

// TestDecodeMatchesNodeDecoders decodes every golden input and compares the
// result, described in gen.mjs's notation, with what the Node decoder
// produced; inputs Node rejects must be rejected too.
func TestDecodeMatchesNodeDecoders(t *testing.T) {
	g := loadGolden(t)
	sections := map[string]map[string]goldenCase{
		"notepack": g.Notepack, "msgpackjs": g.Msgpackjs, "decode": g.Decode,
	}
	for section, cases := range sections {
		for _, name := range sortedNames(cases) {
			c := cases[name]
			t.Run(section+"/"+name, func(t *testing.T) {
				got, err := Decode(c.bytes(t))
				if c.Error != "" {
					if err == nil {
						t.Fatalf("Node rejects this input (%s) but Decode returned %#v", c.Error, got)
					}
					return
				}
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if isSummary(c.Decoded) {
					return // large values are checked in TestDecodeGoldenValues
				}
				want := withoutUndefined(c.Decoded)
				if d := viaJSON(t, describe(got)); !reflect.DeepEqual(d, want) {
					t.Fatalf("decoded value differs from Node's\n got %s\nwant %s", toJSON(d), toJSON(want))
				}
			})
		}
	}
}

// TestDecodeGoldenValues checks the exact Go types Decode produces for
// representative goldens, including the large ones.
func TestDecodeGoldenValues(t *testing.T) {
	g := loadGolden(t)
	all := map[string]goldenCase{}
	for _, section := range []map[string]goldenCase{g.Notepack, g.Msgpackjs, g.Decode} {
		for name, c := range section {
			all[name] = c
		}
	}
	for name, want := range decodeCases() {
		t.Run(name, func(t *testing.T) {
			c, ok := all[name]
			if !ok {
				t.Fatalf("no golden named %q", name)
			}
			got, err := Decode(c.bytes(t))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !equalValues(got, want) {
				t.Fatalf("Decode = %s, want %s", clip(toJSON(describe(got))), clip(toJSON(describe(want))))
			}
		})
	}
}

// describe renders a decoded Go value in gen.mjs's notation.
func describe(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		switch {
		case math.IsNaN(x):
			return map[string]any{"$number": "NaN"}
		case math.IsInf(x, 1):
			return map[string]any{"$number": "Infinity"}
		case math.IsInf(x, -1):
			return map[string]any{"$number": "-Infinity"}
		case x == 0 && math.Signbit(x):
			return map[string]any{"$number": "-0"}
		}
		return x
	case []byte:
		return map[string]any{"$binary": hex.EncodeToString(x)}
	case time.Time:
		return map[string]any{"$date": x.UTC().Format("2006-01-02T15:04:05.000Z")}
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = describe(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = describe(item)
		}
		return out
	case Map:
		out := make(map[string]any, len(x))
		for _, kv := range x {
			out[kv.Key] = describe(kv.Value)
		}
		return out
	}
	return v
}

// withoutUndefined maps gen.mjs's {"$undefined": true} to null: Go has no
// undefined, Decode returns nil for it.
func withoutUndefined(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 && x["$undefined"] == true {
			return nil
		}
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = withoutUndefined(item)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = withoutUndefined(item)
		}
		return out
	}
	return v
}

func isSummary(v any) bool {
	m, ok := v.(map[string]any)
	_, has := m["$summary"]
	return ok && has
}

// viaJSON normalises a description the way the golden file was read.
func viaJSON(t testing.TB, v any) any {
	t.Helper()
	var out any
	if err := json.Unmarshal([]byte(toJSON(v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func sortedNames(m map[string]goldenCase) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// equalValues compares decoded values exactly, types included, treating NaN
// as equal to NaN and times by instant and zone name.
func equalValues(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y) && x.Location().String() == y.Location().String()
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
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
			if !present || !equalValues(item, other) {
				return false
			}
		}
		return true
	case Map:
		y, ok := b.(Map)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Key != y[i].Key || !equalValues(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func TestEqualValuesDistinguishesTypes(t *testing.T) {
	if equalValues(int64(1), 1.0) || equalValues(int64(1), uint64(1)) || equalValues([]any{}, map[string]any{}) {
		t.Fatal("equalValues must compare types")
	}
	if !equalValues(map[string]any{"n": math.NaN()}, map[string]any{"n": math.NaN()}) {
		t.Fatal("equalValues must treat NaN as equal")
	}
}
