package notepack

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// marshalCase is the Go equivalent of one JS value in gen.mjs.
type marshalCase struct {
	in any
	// diverge explains why Marshal deliberately writes hex instead of what
	// notepack writes; empty when the bytes must match notepack's.
	diverge string
	hex     string
}

// Socket.io shapes written with structs, to cover vmihailenco's struct path.
type testPacket struct {
	Type int    `msgpack:"type"`
	Data []any  `msgpack:"data"`
	Nsp  string `msgpack:"nsp"`
}

type testOpts struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
	Flags  any      `json:"flags"`
}

type testBroadcastRequest struct {
	UID       string     `msgpack:"uid"`
	RequestID string     `msgpack:"requestId"`
	Type      int        `msgpack:"type"`
	Packet    testPacket `msgpack:"packet"`
	Opts      testOpts   `msgpack:"opts"`
}

// jsonOnly is a type with only a JSON form, like a JS object with toJSON.
type jsonOnly string

func (j jsonOnly) MarshalJSON() ([]byte, error) { return json.Marshal(string(j)) }

func bytesOf(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func float64Hex(f float64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], math.Float64bits(f))
	return "cb" + hex.EncodeToString(b[:])
}

func keysUpTo(n int) Map {
	m := Map{}
	for i := 0; i < n; i++ {
		m = append(m, KV{Key: "k" + itoa(i), Value: i})
	}
	return m
}

func itoa(i int) string { return jsNumberString(float64(i)) }

func intsUpTo(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = i
	}
	return out
}

var (
	testMillis  = time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)
	testPacketV = testPacket{Type: 2, Data: []any{"ev", "hello", 42, Map{{"n", 1.5}}}, Nsp: "/"}
)

const wrapReason = "notepack wraps whole numbers beyond the 64-bit range modulo 2^64; Go keeps the value as float64"

func marshalCases() map[string]marshalCase {
	ints := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	return map[string]marshalCase{
		"int_0":       {in: 0},
		"int_1":       {in: int8(1)},
		"int_127":     {in: uint(127)},
		"int_128":     {in: uint8(128)},
		"int_255":     {in: 255.0},
		"int_256":     {in: int16(256)},
		"int_65535":   {in: uint16(65535)},
		"int_65536":   {in: int32(65536)},
		"int_2p32m1":  {in: uint32(math.MaxUint32)},
		"int_2p32":    {in: int64(1 << 32)},
		"int_2p53m1":  {in: int64(1<<53 - 1)},
		"int_2p53":    {in: float64(1 << 53)},
		"int_2p63":    {in: uint64(1 << 63)},
		"int_2p64":    {in: 0x1p64, diverge: wrapReason, hex: float64Hex(0x1p64)},
		"float_1e20":  {in: 1e20, diverge: wrapReason, hex: float64Hex(1e20)},
		"float_max":   {in: math.MaxFloat64, diverge: wrapReason, hex: float64Hex(math.MaxFloat64)},
		"neg_zero":    {in: math.Copysign(0, -1)},
		"int_m1":      {in: -1},
		"int_m32":     {in: int8(-32)},
		"int_m33":     {in: -33.0},
		"int_m128":    {in: int16(-128)},
		"int_m129":    {in: -129},
		"int_m32768":  {in: int64(-32768)},
		"int_m32769":  {in: int32(-32769)},
		"int_m2p31":   {in: float64(-(1 << 31))},
		"int_m2p31m1": {in: int64(-(1 << 31) - 1)},
		"int_m2p53p1": {in: float64(-(1<<53 - 1))},
		"int_m2p53":   {in: json.Number("-9007199254740992")},
		"int_m2p63":   {in: -0x1p63},
		"float_m1e20": {in: -1e20, diverge: wrapReason, hex: float64Hex(-1e20)},

		"float_1_5":       {in: 1.5},
		"float_m1_5":      {in: float32(-1.5)},
		"float_0_1":       {in: 0.1},
		"float_pi":        {in: math.Pi},
		"float_1em7":      {in: json.Number("1e-7")},
		"float_min":       {in: math.SmallestNonzeroFloat64},
		"float_2p51_half": {in: 0x1p51 + 0.5},
		"nan":             {in: math.NaN()},
		"inf":             {in: math.Inf(1)},
		"minf":            {in: json.Number("-1e999")},

		"nil":       {in: nil},
		"undefined": {in: (*int)(nil)}, // Go has no undefined; a nil pointer writes nil too
		"true":      {in: true},
		"false":     {in: false},

		"str_empty":        {in: ""},
		"str_ascii":        {in: "hello"},
		"str_31":           {in: strings.Repeat("a", 31)},
		"str_32":           {in: strings.Repeat("b", 32)},
		"str_255":          {in: strings.Repeat("c", 255)},
		"str_256":          {in: strings.Repeat("d", 256)},
		"str_65536":        {in: strings.Repeat("f", 65536)},
		"str_latin1":       {in: "héllo wörld"},
		"str_cjk":          {in: "日本語のテキスト"},
		"str_emoji":        {in: "hi 😀👍🏽"},
		"str_long_unicode": {in: strings.Repeat("ü€😀", 20)},

		"bin_empty":       {in: []byte{}},
		"bin_3":           {in: []byte{1, 2, 3}},
		"bin_255":         {in: bytesOf(255)},
		"bin_256":         {in: bytesOf(256)},
		"bin_65536":       {in: bytesOf(65536)},
		"bin_uint8array":  {in: []byte{9, 8, 7}},
		"bin_arraybuffer": {in: [2]byte{4, 5}},

		"date_epoch":               {in: time.Unix(0, 0)},
		"date_seconds":             {in: time.Date(2024, 1, 2, 4, 4, 5, 0, time.FixedZone("CET", 3600))},
		"date_millis":              {in: testMillis},
		"date_2106":                {in: time.Date(2106, 2, 7, 6, 28, 16, 0, time.UTC)},
		"date_2106_millis":         {in: time.Date(2106, 2, 7, 6, 28, 16, 1e6, time.UTC)},
		"date_2514":                {in: time.Date(2514, 5, 30, 1, 53, 4, 0, time.UTC)},
		"date_before_epoch":        {in: time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)},
		"date_before_epoch_millis": {in: &[]time.Time{time.Date(1969, 12, 31, 23, 59, 59, 5e8, time.UTC)}[0]},
		"date_year_1":              {in: time.Time{}},

		"arr_empty":     {in: []any{}},
		"arr_15":        {in: ints},
		"arr_16":        {in: intsUpTo(16)},
		"arr_65536":     {in: make([]any, 65536)},
		"arr_mixed":     {in: []any{1, "two", 3.5, nil, true, []bool{false}, map[string]int{"x": -1}}},
		"arr_undefined": {in: [3]any{1, nil, 2}},

		"map_empty":                         {in: map[string]any{}},
		"map_15":                            {in: keysUpTo(15)},
		"map_16":                            {in: keysUpTo(16)},
		"map_nested":                        {in: map[string]any{"a": map[string]any{"b": map[string]any{"c": []any{1, map[string]string{"d": "deep"}}}}, "e": []string{}}},
		"map_skips_undefined_and_functions": {in: Map{{"a", 1}, {"d", nil}}},
		"map_js_key_order":                  {in: json.RawMessage(`{"b": 1, "a": 2, "10": 3, "9": 4}`)},
		"map_unicode_keys":                  {in: map[string]any{"ключ": "значение", "🔑": 1}},
		"map_tojson":                        {in: Map{{"when", jsonOnly("custom")}, {"big", 1}}},

		"sio_broadcast": {in: []any{"1qFB-F", testPacketV,
			testOpts{Rooms: []string{"r1"}, Except: []string{}, Flags: map[string]any{}}}},
		"sio_broadcast_room": {in: []any{"1qFB-F",
			Map{{"type", 2}, {"data", []any{"ev-r1", "room"}}, {"nsp", "/"}},
			Map{{"rooms", []string{"r1"}}, {"except", []string{}}, {"flags", Map{}}}}},
		"sio_broadcast_flags": {in: []any{"1qFB-F",
			Map{{"type", 2}, {"data", []any{"ev"}}, {"nsp", "/admin"}},
			Map{{"rooms", []string{"a", "b"}}, {"except", []string{"c"}},
				{"flags", Map{{"volatile", true}, {"compress", false}, {"timeout", 4000.0}}}}}},
		"sio_broadcast_binary": {in: []any{"1qFB-F",
			Map{{"type", 2}, {"data", []any{"file", []byte("hello"), testMillis, Map{{"nested", []byte{0, 255}}}}}, {"nsp", "/"}},
			Map{{"rooms", []string{}}, {"except", []string{}}, {"flags", Map{}}}}},
		"sio_emitter": {in: []any{"emitter", testPacketV,
			Map{{"rooms", []string{}}, {"flags", Map{}}, {"except", []string{}}}}},
		"sio_broadcast_request": {in: testBroadcastRequest{UID: "1qFB-F", RequestID: "AiOETK", Type: 7, Packet: testPacketV,
			Opts: testOpts{Rooms: []string{"r1"}, Except: []string{}, Flags: Map{{"timeout", 4000}}}}},
		"sio_broadcast_ack": {in: Map{{"type", 9}, {"requestId", "AiOETK"},
			{"packet", Map{{"ok", true}, {"at", testMillis}}}}},
	}
}

// decodeCases lists the exact Go value Decode must return for some goldens.
func decodeCases() map[string]any {
	broadcastPacket := map[string]any{"type": int64(2), "data": []any{"ev", "hello", int64(42), map[string]any{"n": 1.5}}, "nsp": "/"}
	return map[string]any{
		"int_127":     int64(127),
		"int_2p32":    int64(1 << 32),
		"int_2p63":    uint64(1 << 63),
		"int_m2p63":   int64(math.MinInt64),
		"float_1_5":   1.5,
		"nan":         math.NaN(),
		"neg_zero":    int64(0),
		"undefined":   nil,
		"str_65536":   strings.Repeat("f", 65536),
		"bin_empty":   []byte{},
		"bin_65536":   bytesOf(65536),
		"date_millis": testMillis,
		"date_year_1": time.Time{}.UTC(),
		"arr_65536":   make([]any, 65536),
		"map_16": func() map[string]any {
			m := map[string]any{}
			for i := 0; i < 16; i++ {
				m["k"+itoa(i)] = int64(i)
			}
			return m
		}(),
		"sio_broadcast": []any{"1qFB-F", broadcastPacket,
			map[string]any{"rooms": []any{"r1"}, "except": []any{}, "flags": map[string]any{}}},
		"sio_broadcast_binary": []any{"1qFB-F",
			map[string]any{"type": int64(2), "nsp": "/", "data": []any{"file", []byte("hello"), testMillis,
				map[string]any{"nested": []byte{0, 255}}}},
			map[string]any{"rooms": []any{}, "except": []any{}, "flags": map[string]any{}}},
		"sio_broadcast_request": map[string]any{"uid": "1qFB-F", "requestId": "AiOETK", "type": int64(7),
			"packet": broadcastPacket,
			"opts":   map[string]any{"rooms": []any{"r1"}, "except": []any{}, "flags": map[string]any{"timeout": int64(4000)}}},
		"mj_int_2p53":             float64(1 << 53),
		"mj_bin":                  []byte{1, 2, 3},
		"mj_ext_custom":           []any{int64(5), []byte{0xaa, 0xbb}},
		"legacy_undefined":        nil,
		"legacy_date_fixext8":     testMillis,
		"legacy_undefined_in_map": map[string]any{"a": nil},
		"legacy_arraybuffer_ext8": []byte{1, 2, 3},
		"timestamp64_nanos":       time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC),
		"uint64_max":              uint64(math.MaxUint64),
		"float32":                 1.5,
		"key_uint64_max":          map[string]any{"18446744073709552000": "a"},
		"key_undefined":           map[string]any{"undefined": "a"},
		"str_invalid_surrogate":   "\ufffd\ufffd\ufffd",
	}
}
