package testrig

// MapLeaves returns v with f applied to every value that is neither a
// []any nor a map[string]any, at any depth: the leaves of a decoded payload,
// for the tests that compare payloads with binary, dates or NaN in them.
// Slices and maps are copied, never modified; f returns its argument for a
// value it leaves as it is.
func MapLeaves(v any, f func(any) any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = MapLeaves(e, f)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = MapLeaves(e, f)
		}
		return out
	}
	return f(v)
}
