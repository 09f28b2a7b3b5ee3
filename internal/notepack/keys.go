package notepack

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// maxArrayIndex is the largest property name JavaScript treats as an array
// index (2^32 - 2); such keys are enumerated first, in numeric order.
const maxArrayIndex = 1<<32 - 2

// arrayIndex reports whether key is a canonical array index ("0", "17", not
// "017" or "-1") and its value.
func arrayIndex(key string) (uint64, bool) {
	if key == "" || len(key) > 10 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= maxArrayIndex
}

// compareJSKeys orders keys the way Object.keys lists a JavaScript object
// whose other keys were inserted in sorted order: array indexes first,
// numerically, then the remaining keys bytewise.
func compareJSKeys(a, b string) int {
	if c := compareIndexes(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// compareIndexes puts array indexes first, in numeric order; any two other
// keys compare equal.
func compareIndexes(a, b string) int {
	ai, aIsIndex := arrayIndex(a)
	bi, bIsIndex := arrayIndex(b)
	switch {
	case aIsIndex && bIsIndex:
		return cmp.Compare(ai, bi)
	case aIsIndex:
		return -1
	case bIsIndex:
		return 1
	}
	return 0
}

// sortJSKeys sorts keys in place with compareJSKeys; Go maps have no order,
// and this one makes Marshal deterministic and close to what Node writes.
func sortJSKeys(keys []string) {
	slices.SortFunc(keys, compareJSKeys)
}

// hoistArrayIndexes reorders m the way a JavaScript object reorders its keys:
// array indexes move to the front in numeric order, the other keys keep their
// insertion order. JSON objects parsed by Node end up in this order.
func hoistArrayIndexes(m Map) {
	slices.SortStableFunc(m, func(a, b KV) int { return compareIndexes(a.Key, b.Key) })
}

// jsDateLayout is what Date.prototype.toString prints in a UTC process.
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)"

// jsPropertyKey converts a decoded map key to the string JavaScript would use
// when the value is assigned as an object property (String(key)).
func jsPropertyKey(key any) string {
	switch k := key.(type) {
	case string:
		return k
	case undefinedValue:
		return "undefined"
	case []any:
		return jsJoin(k)
	}
	return jsString(key)
}

// jsString is String(v) for a decoded value v.
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case undefinedValue:
		return "undefined"
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case int64:
		return jsNumberString(float64(x))
	case uint64:
		return jsNumberString(float64(x))
	case float64:
		return jsNumberString(x)
	case []byte:
		return jsUTF8(x)
	case time.Time:
		return x.UTC().Format(jsDateLayout)
	case []any:
		return jsJoin(x)
	}
	return "[object Object]"
}

// jsJoin is Array.prototype.join(","): null and undefined elements print as
// empty strings.
func jsJoin(items []any) string {
	var b strings.Builder
	for i, item := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		switch item.(type) {
		case nil, undefinedValue:
		default:
			b.WriteString(jsString(item))
		}
	}
	return b.String()
}

// sortEntries sorts map entries with compareJSKeys.
func sortEntries(m Map) {
	slices.SortFunc(m, func(a, b KV) int { return compareJSKeys(a.Key, b.Key) })
}
