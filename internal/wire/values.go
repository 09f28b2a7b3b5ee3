package wire

import (
	"encoding/json"
	"math"
	"time"

	"github.com/parley-chat/parley/internal/notepack"
)

// object is a decoded map, from JSON or msgpack.
type object map[string]any

func asObject(v any) (object, bool) {
	switch m := v.(type) {
	case map[string]any:
		return object(m), true
	case notepack.Map:
		o := make(object, len(m))
		for _, kv := range m {
			o[kv.Key] = kv.Value
		}
		return o, true
	}
	return nil, false
}

func (o object) str(key string) string {
	s, _ := o[key].(string)
	return s
}

// integer reads a whole number whether it came as a JSON float or a msgpack
// int.
func (o object) integer(key string) (int64, bool) {
	return toInt(o[key])
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func (o object) boolean(key string) bool {
	b, _ := o[key].(bool)
	return b
}

func (o object) list(key string) ([]any, bool) {
	l, ok := o[key].([]any)
	return l, ok
}

// encodeFlags writes only the flags that are set, so an empty set is {} as
// in Node. Node writes its flags object in the order the modifiers were
// called; Parley uses one fixed order: expectSingleResponse first (a remote
// socket's operator starts with it), then volatile, compress, local and
// timeout, the order of the usual modifier chains.
func encodeFlags(f Flags) notepack.Map {
	m := notepack.Map{}
	if f.ExpectSingleResponse {
		m = append(m, notepack.KV{Key: "expectSingleResponse", Value: true})
	}
	if f.Volatile {
		m = append(m, notepack.KV{Key: "volatile", Value: true})
	}
	if f.Compress != nil {
		m = append(m, notepack.KV{Key: "compress", Value: *f.Compress})
	}
	if f.Local {
		m = append(m, notepack.KV{Key: "local", Value: true})
	}
	if f.Timeout != nil {
		m = append(m, notepack.KV{Key: "timeout", Value: f.Timeout.Milliseconds()})
	}
	return m
}

func decodeFlags(v any) Flags {
	o, ok := asObject(v)
	if !ok {
		return Flags{}
	}
	f := Flags{Volatile: o.boolean("volatile"), Local: o.boolean("local"), ExpectSingleResponse: o.boolean("expectSingleResponse")}
	if c, ok := o["compress"].(bool); ok {
		f.Compress = &c
	}
	if ms, ok := o.integer("timeout"); ok && ms >= 0 {
		d := time.Duration(ms) * time.Millisecond
		f.Timeout = &d
	}
	return f
}

// encodeOptions writes {rooms, except, flags}; withFlags false leaves flags
// out (the classic fetch and join requests carry none).
func encodeOptions(o Options, withFlags bool) notepack.Map {
	m := notepack.Map{
		{Key: "rooms", Value: orEmpty(o.Rooms)},
		{Key: "except", Value: orEmpty(o.Except)},
	}
	if withFlags {
		m = append(m, notepack.KV{Key: "flags", Value: encodeFlags(o.Flags)})
	}
	return m
}

// orEmpty makes nil an empty list: Node always sends arrays.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func decodeOptions(v any) (Options, error) {
	if v == nil {
		return Options{}, nil
	}
	o, ok := asObject(v)
	if !ok {
		return Options{}, malformed("opts is not an object")
	}
	rooms, err := roomList(o["rooms"])
	if err != nil {
		return Options{}, err
	}
	except, err := roomList(o["except"])
	if err != nil {
		return Options{}, err
	}
	return Options{Rooms: rooms, Except: except, Flags: decodeFlags(o["flags"])}, nil
}

// decodeAny reads a payload that is JSON when it starts with '{' and msgpack
// otherwise, the rule every Node adapter applies on its channels.
func decodeAny(payload []byte) (any, error) {
	if len(payload) == 0 {
		return nil, malformed("empty payload")
	}
	if payload[0] == '{' {
		var v any
		if err := json.Unmarshal(payload, &v); err != nil {
			return nil, malformed("json: " + err.Error())
		}
		return v, nil
	}
	v, err := notepack.Decode(payload)
	if err != nil {
		return nil, malformed("msgpack: " + err.Error())
	}
	return v, nil
}
