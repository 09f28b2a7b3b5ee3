package notepack

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Unmarshal decodes data into the value v points to. It accepts everything
// Decode accepts. Generic destinations (*any, *map[string]any, *[]any, *Map)
// receive exactly what Decode (or DecodeOrdered for *Map) returns. Any other
// destination, such as a struct, is filled by vmihailenco/msgpack (msgpack
// tags, json tags as fallback) from a normalised copy of the input, and
// values it stores in interface-typed fields are then brought to Decode's
// types (int64, float64, UTC times), so a field of type any holds the same
// thing whichever way the message was read.
func Unmarshal(data []byte, v any) error {
	switch p := v.(type) {
	case *Map:
		return unmarshalOrdered(data, p)
	case nil:
		return errors.New("notepack: Unmarshal into nil")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("notepack: Unmarshal needs a non-nil pointer, got %T", v)
	}
	tree, err := Decode(data)
	if err != nil {
		return err
	}
	if assignGeneric(v, tree) {
		return nil
	}
	return unmarshalTyped(tree, rv)
}

func unmarshalOrdered(data []byte, p *Map) error {
	tree, err := DecodeOrdered(data)
	if err != nil {
		return err
	}
	switch m := tree.(type) {
	case Map:
		*p = m
	case nil:
		*p = nil
	default:
		return fmt.Errorf("notepack: cannot unmarshal %T into Map", tree)
	}
	return nil
}

// assignGeneric stores tree directly when the destination can hold it.
func assignGeneric(v, tree any) bool {
	switch p := v.(type) {
	case *any:
		*p = tree
		return true
	case *map[string]any:
		m, ok := tree.(map[string]any)
		if ok || tree == nil {
			*p = m
		}
		return ok || tree == nil
	case *[]any:
		s, ok := tree.([]any)
		if ok || tree == nil {
			*p = s
		}
		return ok || tree == nil
	}
	return false
}

// unmarshalTyped re-encodes the decoded tree, which leaves only standard
// msgpack (no legacy or unknown extensions, string keys only), and lets
// vmihailenco map it onto the destination type.
func unmarshalTyped(tree any, rv reflect.Value) error {
	canonical, err := Marshal(tree)
	if err != nil {
		return err
	}
	dec := msgpack.NewDecoder(bytes.NewReader(canonical))
	dec.SetCustomStructTag("json")
	if err := dec.DecodeValue(rv); err != nil {
		return fmt.Errorf("notepack: decoding into %s: %w", rv.Type(), err)
	}
	normalizeValue(rv.Elem())
	return nil
}

var (
	anyType  = reflect.TypeOf((*any)(nil)).Elem()
	timeType = reflect.TypeOf(time.Time{})
)

// normalizeValue walks a value filled by vmihailenco and rewrites what it
// decodes differently from Decode: int8…uint32 and float32 held in any, and
// times in the local zone.
func normalizeValue(rv reflect.Value) {
	switch rv.Kind() {
	case reflect.Interface:
		if rv.Type() == anyType && !rv.IsNil() && rv.CanSet() {
			rv.Set(reflect.ValueOf(normalizeGeneric(rv.Elem().Interface())))
		}
	case reflect.Pointer:
		if !rv.IsNil() {
			normalizeValue(rv.Elem())
		}
	case reflect.Struct:
		normalizeStruct(rv)
	case reflect.Slice, reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			normalizeValue(rv.Index(i))
		}
	case reflect.Map:
		normalizeMap(rv)
	}
}

func normalizeStruct(rv reflect.Value) {
	if rv.Type() == timeType {
		if rv.CanSet() {
			rv.Set(reflect.ValueOf(rv.Interface().(time.Time).UTC()))
		}
		return
	}
	for i := 0; i < rv.NumField(); i++ {
		if f := rv.Field(i); f.CanSet() {
			normalizeValue(f)
		}
	}
}

// normalizeMap rewrites map values, which are not addressable in place.
func normalizeMap(rv reflect.Value) {
	switch rv.Type().Elem().Kind() {
	case reflect.Interface, reflect.Struct, reflect.Slice, reflect.Array, reflect.Map, reflect.Pointer:
	default:
		return
	}
	iter := rv.MapRange()
	for iter.Next() {
		v := reflect.New(rv.Type().Elem()).Elem()
		v.Set(iter.Value())
		normalizeValue(v)
		rv.SetMapIndex(iter.Key(), v)
	}
}

// normalizeGeneric converts a value vmihailenco decoded into an any to the
// type Decode would have produced.
func normalizeGeneric(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC()
	case []any:
		for i, item := range x {
			x[i] = normalizeGeneric(item)
		}
	case map[string]any:
		for k, item := range x {
			x[k] = normalizeGeneric(item)
		}
	}
	return v
}
