package notepack

import (
	"strings"
	"unicode/utf8"
)

// jsUTF8 converts bytes to a string the way Node's Buffer.toString("utf8")
// does: a JavaScript string cannot hold invalid UTF-8, so every maximal
// invalid subsequence (WHATWG "maximal subpart") becomes one U+FFFD.
// Valid input, the common case, costs one scan and one copy.
func jsUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	out.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out.Write(b[i : i+size])
			i += size
			continue
		}
		out.WriteRune(utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return out.String()
}

// maximalSubpart returns how many bytes at the start of b (which does not
// start with a valid sequence) form the longest prefix of a well-formed
// sequence; at least 1. Those bytes are replaced by a single U+FFFD.
func maximalSubpart(b []byte) int {
	need, lo, hi := sequenceShape(b[0])
	n := 1
	for n < len(b) && n <= need && b[n] >= lo && b[n] <= hi {
		n++
		lo, hi = 0x80, 0xbf
	}
	return n
}

// sequenceShape tells, for a lead byte, how many continuation bytes follow
// and the allowed range of the first one (which excludes overlong forms,
// surrogates and values above U+10FFFF). A byte that cannot lead gets 0.
func sequenceShape(lead byte) (need int, lo, hi byte) {
	switch {
	case lead >= 0xc2 && lead <= 0xdf:
		return 1, 0x80, 0xbf
	case lead == 0xe0:
		return 2, 0xa0, 0xbf
	case lead == 0xed:
		return 2, 0x80, 0x9f
	case lead >= 0xe1 && lead <= 0xef:
		return 2, 0x80, 0xbf
	case lead == 0xf0:
		return 3, 0x90, 0xbf
	case lead == 0xf4:
		return 3, 0x80, 0x8f
	case lead >= 0xf1 && lead <= 0xf3:
		return 3, 0x80, 0xbf
	}
	return 0, 0, 0
}
