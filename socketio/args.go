package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Args are the arguments of an event or an ack. Arguments a client sent are
// kept as the JSON text it sent and decoded only when asked: a handler that
// passes them on (a relay, an echo) never decodes them. Binary attachments
// come as []byte wherever the client put a Buffer, an ArrayBuffer or a typed
// array.
//
// Args are immutable and safe to keep and share after the handler returns.
type Args struct {
	d *argsData
}

type argsData struct {
	text   []byte    // the JSON array the client sent (owned)
	spans  [][2]int  // each argument's bounds in text
	inline [2][2]int // spans' array for the usual one or two arguments
	att    [][]byte  // binary attachments, in placeholder order
	vals   []any     // arguments given as Go values (from the cluster or the server itself)
}

// Raw is an argument as a client sent it: JSON text, written out again as it
// is when emitted. Args.Values hands arguments out in this form.
type Raw struct {
	text []byte
}

// JSON returns the argument's JSON text.
func (r *Raw) JSON() json.RawMessage { return r.text }

// MarshalJSON implements json.Marshaler (the cluster's encoders use it).
func (r *Raw) MarshalJSON() ([]byte, error) { return r.text, nil }

// ArgsOf returns Args holding Go values (each a value an emit accepts).
func ArgsOf(values ...any) Args {
	return Args{d: &argsData{vals: values}}
}

// Len returns the number of arguments.
func (a Args) Len() int {
	switch {
	case a.d == nil:
		return 0
	case a.d.vals != nil:
		return len(a.d.vals)
	}
	return len(a.d.spans)
}

// Raw returns argument i's JSON text (binary attachments appear as
// {"_placeholder":true,"num":n}), or nil when out of range.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= a.Len() {
		return nil
	}
	if a.d.vals != nil {
		b, err := appendJSON(nil, a.d.vals[i], nil)
		if err != nil {
			return nil
		}
		return b
	}
	s := a.d.spans[i]
	return a.d.text[s[0]:s[1]]
}

// ErrNoArgument is returned by Decode for an index out of range.
var ErrNoArgument = errors.New("socketio: no such argument")

// Decode stores argument i in v, as encoding/json does (v is a pointer).
// A binary argument decodes into a *[]byte or a *any; inside objects,
// binary fields decode into []byte fields.
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= a.Len() {
		return fmt.Errorf("%w: %d of %d", ErrNoArgument, i, a.Len())
	}
	if a.d.vals != nil {
		return decodeValue(a.d.vals[i], v)
	}
	text := a.Raw(i)
	if len(a.d.att) > 0 {
		switch p := v.(type) {
		case *[]byte:
			if b, ok := a.attachmentAt(text); ok {
				*p = b
				return nil
			}
		case *any:
			val, err := a.valueOf(text)
			*p = val
			return err
		}
		// Binary fields of objects: []byte decodes from base64 text, so
		// placeholders become base64 strings.
		text = a.placeholdersToBase64(text)
	}
	if err := json.Unmarshal(text, v); err != nil {
		return fmt.Errorf("socketio: argument %d: %w", i, err)
	}
	return nil
}

// decodeValue stores a Go value in v through its JSON form.
func decodeValue(val any, v any) error {
	if p, ok := v.(*any); ok {
		*p = val
		return nil
	}
	if b, ok := val.([]byte); ok {
		if p, ok := v.(*[]byte); ok {
			*p = b
			return nil
		}
	}
	text, err := json.Marshal(val)
	if err != nil {
		return err
	}
	return json.Unmarshal(text, v)
}

// String returns argument i when it is a string.
func (a Args) String(i int) (string, bool) {
	var s string
	if i < 0 || i >= a.Len() {
		return "", false
	}
	if a.d.vals != nil {
		s, ok := a.d.vals[i].(string)
		return s, ok
	}
	raw := a.Raw(i)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// Value returns argument i decoded into Go's generic JSON values (string,
// float64, bool, nil, map[string]any, []any) with binary as []byte; nil when
// out of range.
func (a Args) Value(i int) any {
	if i < 0 || i >= a.Len() {
		return nil
	}
	if a.d.vals != nil {
		return a.d.vals[i]
	}
	v, _ := a.valueOf(a.Raw(i))
	return v
}

// Values returns the arguments in the form emits pass on unchanged: the
// client's JSON text (*Raw), or decoded values when the client sent binary
// attachments (those become []byte). io.Emit("ev", args.Values()...) relays
// an event as it came.
func (a Args) Values() []any {
	n := a.Len()
	out := make([]any, n)
	switch {
	case n == 0:
	case a.d.vals != nil:
		copy(out, a.d.vals)
	case len(a.d.att) > 0:
		for i := range out {
			out[i] = a.Value(i)
		}
	default:
		raws := make([]Raw, n)
		for i := range raws {
			raws[i].text = a.Raw(i)
			out[i] = &raws[i]
		}
	}
	return out
}

// Attachments returns the binary attachments the client sent, in order.
func (a Args) Attachments() [][]byte {
	if a.d == nil {
		return nil
	}
	return a.d.att
}

// GoString formats the arguments as JSON, for logs and %#v.
func (a Args) GoString() string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range a.Len() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(a.Raw(i))
	}
	b.WriteByte(']')
	return b.String()
}

// valueOf decodes JSON text into generic values, attachments resolved.
func (a Args) valueOf(text []byte) (any, error) {
	var v any
	if err := json.Unmarshal(text, &v); err != nil {
		return nil, err
	}
	if len(a.d.att) == 0 {
		return v, nil
	}
	return resolvePlaceholders(v, a.d.att)
}

// attachmentAt returns the attachment a placeholder text refers to.
func (a Args) attachmentAt(text []byte) ([]byte, bool) {
	if firstByte(text) != '{' {
		return nil, false
	}
	var p struct {
		Placeholder bool `json:"_placeholder"`
		Num         *int `json:"num"`
	}
	if json.Unmarshal(text, &p) != nil || !p.Placeholder || p.Num == nil || *p.Num < 0 || *p.Num >= len(a.d.att) {
		return nil, false
	}
	return a.d.att[*p.Num], true
}

// placeholdersToBase64 rewrites placeholders as base64 strings of their
// attachments, the form encoding/json decodes into []byte.
func (a Args) placeholdersToBase64(text []byte) []byte {
	v, err := a.valueOf(text)
	if err != nil {
		return text
	}
	out, err := json.Marshal(v) // []byte marshals as base64
	if err != nil {
		return text
	}
	return out
}

// resolvePlaceholders replaces placeholder objects with their attachments,
// as Node's reconstructPacket does; a placeholder pointing nowhere is an
// error.
func resolvePlaceholders(v any, att [][]byte) (any, error) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			r, err := resolvePlaceholders(e, att)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	case map[string]any:
		if ph, ok := x["_placeholder"].(bool); ok && ph {
			n, ok := x["num"].(float64)
			if !ok || n < 0 || int(n) >= len(att) || n != float64(int(n)) {
				return nil, malformed("illegal attachments")
			}
			return att[int(n)], nil
		}
		for k, e := range x {
			r, err := resolvePlaceholders(e, att)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	}
	return v, nil
}

// splitArray appends to spans the bounds of each element of a JSON array
// (which must be valid JSON). The caller's spans may live on its stack:
// newArgs copies them.
func splitArray(spans [][2]int, text []byte) ([][2]int, error) {
	i := skipSpace(text, 0)
	if i >= len(text) || text[i] != '[' {
		return nil, malformed("not an array")
	}
	i = skipSpace(text, i+1)
	if i < len(text) && text[i] == ']' {
		return spans, nil
	}
	for i < len(text) {
		end, err := valueEnd(text, i)
		if err != nil {
			return nil, err
		}
		spans = append(spans, [2]int{i, end})
		i = skipSpace(text, end)
		if i >= len(text) {
			break
		}
		switch text[i] {
		case ',':
			i = skipSpace(text, i+1)
		case ']':
			return spans, nil
		default:
			return nil, malformed("bad array")
		}
	}
	return nil, malformed("unterminated array")
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		return i
	}
	return i
}

// valueEnd returns where the JSON value starting at i ends.
func valueEnd(b []byte, i int) (int, error) {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, malformed("unterminated string")
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := valueEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, malformed("unterminated value")
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return j, nil
		}
		j++
	}
	return j, nil
}

// eventName reads an event's name from the first element of its array: a
// string, or a number (which Node accepts and names by its text).
func eventName(text []byte, span [2]int) (string, bool) {
	raw := text[span[0]:span[1]]
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true // no escape: the text is the name
	}
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case len(raw) > 0 && (raw[0] == '-' || isDigit(raw[0])):
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return "", false
		}
		return formatNumber(f), true
	}
	return "", false
}

// newArgs makes Args of the elements of a JSON array from the client (text
// is copied), starting at element first.
func newArgs(text []byte, spans [][2]int, first int, att [][]byte) Args {
	if first >= len(spans) {
		return Args{d: &argsData{att: att}}
	}
	base := spans[first][0]
	end := spans[len(spans)-1][1]
	d := &argsData{text: bytes.Clone(text[base:end]), att: att}
	if n := len(spans) - first; n <= len(d.inline) {
		d.spans = d.inline[:n]
	} else {
		d.spans = make([][2]int, n)
	}
	for i, s := range spans[first:] {
		d.spans[i] = [2]int{s[0] - base, s[1] - base}
	}
	return Args{d: d}
}

// checkPlaceholders fails, as Node's decoder does, for a binary packet whose
// placeholders do not match its attachments.
func checkPlaceholders(payload []byte, att [][]byte) error {
	if len(att) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return malformed("payload: %v", err)
	}
	_, err := resolvePlaceholders(v, att)
	return err
}
