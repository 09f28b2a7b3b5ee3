package notepack

import "testing"

// broadcastGeneric is the classic adapter's broadcast message as a Go node
// receives it from socket.io (plain maps, JSON-style numbers).
var broadcastGeneric = []any{
	"1qFB-F",
	map[string]any{"type": 2, "data": []any{"ev", "hello", 42.0, map[string]any{"n": 1.5}}, "nsp": "/"},
	map[string]any{"rooms": []string{"r1"}, "except": []string{}, "flags": map[string]any{}},
}

// broadcastOrdered is the same message built to match Node byte for byte.
var broadcastOrdered = []any{
	"1qFB-F",
	Map{{"type", 2}, {"data", []any{"ev", "hello", 42, Map{{"n", 1.5}}}}, {"nsp", "/"}},
	Map{{"rooms", []string{"r1"}}, {"except", []string{}}, {"flags", Map{}}},
}

func BenchmarkMarshalBroadcast(b *testing.B) {
	for name, msg := range map[string]any{"ordered": broadcastOrdered, "generic": broadcastGeneric} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Marshal(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeBroadcast(b *testing.B) {
	data := loadGolden(b).Notepack["sio_broadcast"].bytes(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
