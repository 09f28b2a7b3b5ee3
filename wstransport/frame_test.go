package wstransport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// maskFrame builds a client frame: masked, with the given first byte.
func maskFrame(b0 byte, payload []byte, key [4]byte) []byte {
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n <= 0xFFFF:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	out = append(out, key[:]...)
	start := len(out)
	out = append(out, payload...)
	for i := range payload {
		out[start+i] ^= key[i&3]
	}
	return out
}

// recorder is a frameSink that keeps what it receives.
type recorder struct {
	messages []string
	ops      []opcode
	controls []opcode
}

func (r *recorder) message(op opcode, p []byte) {
	r.ops = append(r.ops, op)
	r.messages = append(r.messages, string(p))
}

func (r *recorder) control(op opcode, _ []byte) error {
	r.controls = append(r.controls, op)
	return nil
}

var key = [4]byte{0x12, 0x34, 0x56, 0x78}

func TestFrameReaderSplitsAnywhere(t *testing.T) {
	var stream []byte
	want := []string{"4hello", string(bytes.Repeat([]byte("é"), 200)), string(bytes.Repeat([]byte{'x'}, 70000))}
	for _, m := range want {
		stream = append(stream, maskFrame(0x81, []byte(m), key)...)
	}
	stream = append(stream, maskFrame(0x89, []byte("ping"), key)...)
	for _, chunk := range []int{1, 2, 3, 7, 125, 4096, len(stream)} {
		r := &recorder{}
		fr := frameReader{max: 1 << 20}
		data := bytes.Clone(stream)
		for i := 0; i < len(data); i += chunk {
			if err := fr.feed(bytes.Clone(data[i:min(i+chunk, len(data))]), r); err != nil {
				t.Fatalf("chunk %d: feed: %v", chunk, err)
			}
		}
		if len(r.messages) != len(want) {
			t.Fatalf("chunk %d: got %d messages, want %d", chunk, len(r.messages), len(want))
		}
		for i := range want {
			if r.messages[i] != want[i] {
				t.Fatalf("chunk %d: message %d differs (len %d, want %d)", chunk, i, len(r.messages[i]), len(want[i]))
			}
		}
		if len(r.controls) != 1 || r.controls[0] != opPing {
			t.Fatalf("chunk %d: controls %v, want one ping", chunk, r.controls)
		}
		if fr.partial != nil {
			t.Fatalf("chunk %d: reader keeps %d bytes after complete frames", chunk, len(fr.partial))
		}
	}
}

func TestFrameReaderFragments(t *testing.T) {
	stream := append(maskFrame(0x01, []byte("4he"), key), maskFrame(0x89, nil, key)...) // text, not final; a ping between
	stream = append(stream, maskFrame(0x00, []byte("ll"), key)...)
	stream = append(stream, maskFrame(0x80, []byte("o"), key)...)
	r := &recorder{}
	fr := frameReader{max: 100}
	if err := fr.feed(stream, r); err != nil {
		t.Fatal(err)
	}
	if len(r.messages) != 1 || r.messages[0] != "4hello" || r.ops[0] != opText {
		t.Fatalf("messages %q ops %v, want [4hello] text", r.messages, r.ops)
	}
}

func TestFrameReaderRejects(t *testing.T) {
	long := bytes.Repeat([]byte{'a'}, 101)
	tests := []struct {
		name   string
		stream []byte
		code   int
	}{
		{"unmasked", []byte{0x81, 0x01, 'a'}, CloseProtocolError},
		{"reserved bits", maskFrame(0xC1, []byte("a"), key), CloseProtocolError},
		{"unknown opcode", maskFrame(0x83, []byte("a"), key), CloseProtocolError},
		{"fragmented ping", maskFrame(0x09, nil, key), CloseProtocolError},
		{"long ping", maskFrame(0x89, bytes.Repeat([]byte{'a'}, 126), key), CloseProtocolError},
		{"lone continuation", maskFrame(0x80, []byte("a"), key), CloseProtocolError},
		{"message inside message", append(maskFrame(0x01, []byte("a"), key), maskFrame(0x81, []byte("b"), key)...), CloseProtocolError},
		{"frame above max", maskFrame(0x81, long, key), CloseMessageTooBig},
		{"fragments above max", append(maskFrame(0x01, long[:60], key), maskFrame(0x80, long[:60], key)...), CloseMessageTooBig},
		{"invalid utf-8", maskFrame(0x81, []byte{0xff, 0xfe}, key), CloseInvalidPayload},
		{"64-bit length with the top bit", append([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}, key[:]...), CloseProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := frameReader{max: 100}
			err := fr.feed(tt.stream, &recorder{})
			var ce *closeError
			if !errors.As(err, &ce) || ce.code != tt.code {
				t.Fatalf("feed = %v, want close code %d", err, tt.code)
			}
		})
	}
}

func TestParseClose(t *testing.T) {
	tests := []struct {
		body []byte
		code int
		ok   bool
	}{
		{nil, closeNoStatus, true},
		{[]byte{0x03, 0xE8}, 1000, true},
		{append([]byte{0x0F, 0xA0}, "bye"...), 4000, true},
		{[]byte{0x03}, 0, false},
		{[]byte{0x03, 0xED}, 0, false}, // 1005 may not be sent
		{[]byte{0x03, 0xE8, 0xff}, 0, false},
	}
	for _, tt := range tests {
		code, err := parseClose(tt.body)
		if (err == nil) != tt.ok || (tt.ok && code != tt.code) {
			t.Errorf("parseClose(%x) = %d, %v; want %d ok=%v", tt.body, code, err, tt.code, tt.ok)
		}
	}
}

func TestAppendFrameLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536, 200000} {
		payload := bytes.Repeat([]byte{'z'}, n)
		f := appendFrame(nil, opBinary, payload)
		if len(f) != headerLen(n)+n {
			t.Fatalf("n=%d: frame of %d bytes, want %d", n, len(f), headerLen(n)+n)
		}
		// Parse it back as a client frame would be: add a zero mask.
		masked := append([]byte{f[0], f[1] | 0x80}, f[2:headerLen(n)]...)
		masked = append(append(masked, 0, 0, 0, 0), payload...)
		h, hn, err := parseHeader(masked, 1<<20)
		if err != nil || hn == 0 || h.length != int64(n) || h.op != opBinary || !h.fin {
			t.Fatalf("n=%d: parsed %+v size %d err %v", n, h, hn, err)
		}
	}
	if got := closeFrame(CloseMessageTooBig, ""); !bytes.Equal(got, []byte{0x88, 0x02, 0x03, 0xF1}) {
		t.Fatalf("close frame 1009 = %x", got)
	}
	if got := closeFrame(closeNoStatus, ""); !bytes.Equal(got, []byte{0x88, 0x00}) {
		t.Fatalf("close frame without status = %x", got)
	}
}

// FuzzFrameReader feeds arbitrary bytes in arbitrary chunks: the reader must
// not panic, must not deliver more than it was given, and must either fail
// with a close code or keep at most one incomplete frame.
func FuzzFrameReader(f *testing.F) {
	f.Add(maskFrame(0x81, []byte("42[\"echo\",1]"), key), uint8(3))
	f.Add(append(maskFrame(0x01, []byte("4a"), key), maskFrame(0x80, []byte("b"), key)...), uint8(1))
	f.Add(maskFrame(0x82, bytes.Repeat([]byte{1}, 300), key), uint8(100))
	f.Add(maskFrame(0x88, []byte{0x03, 0xE8}, key), uint8(2))
	f.Add([]byte{0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0x10, 0}, uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		step := int(chunk)%64 + 1
		fr := frameReader{max: 4096}
		r := &recorder{}
		total := 0
		for i := 0; i < len(data); i += step {
			err := fr.feed(bytes.Clone(data[i:min(i+step, len(data))]), r)
			if err != nil {
				var ce *closeError
				if !errors.As(err, &ce) || ce.code < 1000 {
					t.Fatalf("feed returned %v, want a close error", err)
				}
				return
			}
		}
		for _, m := range r.messages {
			total += len(m)
		}
		if total > len(data) {
			t.Fatalf("delivered %d payload bytes out of %d input bytes", total, len(data))
		}
		if len(fr.partial) > len(data) {
			t.Fatalf("keeps %d bytes out of %d", len(fr.partial), len(data))
		}
	})
}

func BenchmarkFrameReader(b *testing.B) {
	frame := maskFrame(0x81, []byte(`42["broadcast",{"t":1732610000000000000,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`), key)
	var stream []byte
	for range 100 {
		stream = append(stream, frame...)
	}
	buf := make([]byte, len(stream))
	fr := frameReader{max: 1 << 20}
	sink := discard{}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, stream)
		if err := fr.feed(buf, sink); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	payload := bytes.Repeat([]byte{'x'}, 120)
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = appendFrame(dst[:0], opText, payload)
	}
}

type discard struct{}

func (discard) message(opcode, []byte)       {}
func (discard) control(opcode, []byte) error { return nil }

// headerLen is the size of a server (unmasked) frame header for n bytes.
func headerLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xFFFF:
		return 4
	default:
		return 10
	}
}
