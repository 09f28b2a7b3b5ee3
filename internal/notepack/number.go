package notepack

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// canonicalNaN is the NaN bit pattern V8 writes (Go's math.NaN() has a
// different payload, which would change the bytes but not the meaning).
var canonicalNaN = math.Float64frombits(0x7ff8000000000000)

// encodeNumber writes a JavaScript number the way notepack does: whole values
// as the smallest integer form, everything else as float64.
//
// notepack also writes whole values beyond the int64/uint64 range as
// integers, but they wrap modulo 2^64 (1e20 arrives as 7766279631452241920);
// those are written as float64 here so the receiver gets the right number.
func encodeNumber(e *msgpack.Encoder, f float64) error {
	if f == math.Trunc(f) && !math.IsInf(f, 0) {
		if f >= 0 && f < 0x1p64 {
			return e.EncodeUint(uint64(f))
		}
		if f < 0 && f >= -0x1p63 {
			return e.EncodeInt(int64(f))
		}
	}
	if math.IsNaN(f) {
		f = canonicalNaN
	}
	// The encoder's compact-float mode only shortens whole values inside the
	// int64 range, which were all handled above, so this is always 0xcb.
	return e.EncodeFloat64(f)
}

// encodeInt writes a Go integer as the JavaScript number it stands for.
func encodeInt(e *msgpack.Encoder, n int64) error {
	if n > maxSafeInteger || n < -maxSafeInteger {
		return encodeNumber(e, float64(n))
	}
	return e.EncodeInt(n)
}

// encodeUint is encodeInt for unsigned integers.
func encodeUint(e *msgpack.Encoder, n uint64) error {
	if n > maxSafeInteger {
		return encodeNumber(e, float64(n))
	}
	return e.EncodeUint(n)
}

// jsonNumber converts n the way JavaScript's Number() would: the nearest
// float64, with out-of-range magnitudes becoming ±Infinity.
func jsonNumber(n json.Number) (float64, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("notepack: invalid json.Number %q: %w", string(n), err)
	}
	return f, nil
}

// jsNumberString formats f like JavaScript's String(number); it names map keys
// that arrive as numbers, as a JavaScript object would.
func jsNumberString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	digits, exp := shortestDigits(f)
	return sign + placeDecimalPoint(digits, exp)
}

// shortestDigits returns the shortest round-tripping decimal digits of f > 0
// and n such that f = 0.digits × 10^n (ECMAScript's k digits and n).
func shortestDigits(f float64) (string, int) {
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mantissa, expPart, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expPart)
	return strings.Replace(mantissa, ".", "", 1), exp + 1
}

// placeDecimalPoint lays out digits and n following ECMAScript
// Number::toString: plain notation for 1e-7 < value < 1e21, else exponent.
func placeDecimalPoint(digits string, n int) string {
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		return digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return "0." + strings.Repeat("0", -n) + digits
	}
	e := n - 1
	expSign := "+"
	if e < 0 {
		expSign, e = "-", -e
	}
	head := digits[:1]
	if k > 1 {
		head += "." + digits[1:]
	}
	return head + "e" + expSign + strconv.Itoa(e)
}
