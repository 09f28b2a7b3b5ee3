package notepack

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// ErrUnsupported wraps every error of a value Marshal or MarshalJSONText
// cannot represent: a channel, a function, a complex number, a stream, a map
// key JavaScript has no property name for, a value nested too deeply (or
// cyclic), or a struct whose content would be lost (see Marshal).
var ErrUnsupported = errors.New("notepack: value cannot be represented")

// Binary is a byte buffer that Marshal writes as msgpack bin, as notepack
// writes a Buffer, and MarshalJSONText as JSON.stringify writes a Buffer.
// Besides []byte, any type with a Bytes method that returns its content
// without consuming it is binary: the socket.io library's
// *types.BytesBuffer (what event handlers get for a client's binary
// attachment), *bytes.Buffer, and the buffers of Parley's future native
// core. A type with a JSON or text form of its own (json.Marshaler,
// encoding.TextMarshaler) is not binary even if it has a Bytes method: the
// library's *types.StringBuffer is text, a *big.Int a number.
type Binary interface {
	Bytes() []byte
}

// BinaryBytes reports whether v is binary, a non-nil []byte or a non-nil
// Binary (see Binary), and returns its content; err is set when a Binary
// cannot give it (its Bytes method panicked). Every encoder of Parley's
// cluster messages decides what is binary through it.
func BinaryBytes(v any) (data []byte, ok bool, err error) {
	switch x := v.(type) {
	case []byte:
		return x, x != nil, nil
	case json.Marshaler, encoding.TextMarshaler:
		return nil, false, nil
	case Binary:
		if isNilPointer(x) {
			return nil, false, nil
		}
		data, err := contentOf(x)
		return data, true, err
	}
	return nil, false, nil
}

// IsBinary reports whether v is binary (see BinaryBytes) without reading
// it, and without making v escape: callers scan every value of a message
// with it. A nil pointer to a Binary type counts (Marshal writes it as nil).
func IsBinary(v any) bool {
	switch x := v.(type) {
	case []byte:
		return x != nil
	case json.Marshaler, encoding.TextMarshaler:
		return false
	case Binary:
		return true
	}
	return false
}

// contentOf calls b.Bytes, turning a panic (a buffer whose inner pointer is
// nil, such as a zero types.BytesBuffer) into an error. Empty content is an
// empty, not nil, slice: it is still binary.
func contentOf(b Binary) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = unsupported(reflect.TypeOf(b), fmt.Sprintf("cannot give its bytes (%v)", r))
		}
	}()
	if data = b.Bytes(); data == nil {
		data = []byte{}
	}
	return data, nil
}

// isJSONOrText reports whether v has a JSON or text form of its own.
func isJSONOrText(v any) bool {
	switch v.(type) {
	case json.Marshaler, encoding.TextMarshaler:
		return true
	}
	return false
}

func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// unsupported returns an ErrUnsupported error about a value of type t.
func unsupported(t reflect.Type, why string) error {
	return fmt.Errorf("%w: %s %s", ErrUnsupported, t, why)
}

var (
	readerType            = reflect.TypeFor[io.Reader]()
	jsonMarshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType     = reflect.TypeFor[encoding.TextMarshaler]()
	msgpackEncoderType    = reflect.TypeFor[msgpack.CustomEncoder]()
	msgpackMarshalerType  = reflect.TypeFor[msgpack.Marshaler]()
	binaryType            = reflect.TypeFor[Binary]()
	typeChecks            sync.Map // reflect.Type → error (nil when fine)
	ownEncodingInterfaces = []reflect.Type{jsonMarshalerType, textMarshalerType, msgpackEncoderType, msgpackMarshalerType}
)

// checkType returns an ErrUnsupported error when a value of type t would
// silently lose its content in the struct encoders (vmihailenco's or
// encoding/json's): a struct with data but no exported field (such as
// sync.Mutex or a buffer type this package does not know), or a stream
// (io.Reader), at t or reachable through t's exported fields, pointers,
// slices, arrays and map values. Values held in interface fields are not
// visible here; Marshal checks them as it reaches them. Results are cached
// per type.
func checkType(t reflect.Type) error {
	if cached, ok := typeChecks.Load(t); ok {
		err, _ := cached.(error)
		return err
	}
	err := walkType(t, map[reflect.Type]bool{})
	typeChecks.Store(t, err)
	return err
}

func walkType(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] || hasOwnEncoding(t) {
		return nil
	}
	seen[t] = true
	if t.Kind() != reflect.Slice && (t.Implements(binaryType) || reflect.PointerTo(t).Implements(binaryType)) {
		// Neither struct encoder knows Binary: only []byte survives there.
		return unsupported(t, "is a byte buffer inside a struct (use []byte there)")
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return walkType(t.Elem(), seen)
	case reflect.Interface:
		return nil
	case reflect.Struct:
		return walkStruct(t, seen)
	}
	return nil
}

// walkStruct checks a struct's exported fields and that it has some if it
// has fields at all. Embedded structs count with their own exported fields,
// as both encoders flatten them.
func walkStruct(t reflect.Type, seen map[reflect.Type]bool) error {
	if t.Implements(readerType) || reflect.PointerTo(t).Implements(readerType) {
		return unsupported(t, "is a stream (read it into []byte first)")
	}
	if t.NumField() > 0 && exportedFields(t, 0) == 0 {
		return unsupported(t, "has no exported field: it would be written as an empty object")
	}
	return walkFields(t, seen, 0)
}

// walkFields checks the types of the fields the struct encoders write for
// t, those of embedded structs included (they are flattened, so an
// embedded struct without exported fields, such as sync.Mutex, loses
// nothing).
func walkFields(t reflect.Type, seen map[reflect.Type]bool, depth int) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		var err error
		if ft, ok := flattened(f); ok && depth < 16 {
			err = walkFields(ft, seen, depth+1)
		} else if f.IsExported() {
			err = walkType(f.Type, seen)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// flattened returns the struct type of an embedded field whose fields the
// encoders write in place of it.
func flattened(f reflect.StructField) (reflect.Type, bool) {
	ft := f.Type
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	ok := f.Anonymous && ft.Kind() == reflect.Struct && f.Tag == "" && !hasOwnEncoding(ft)
	return ft, ok
}

// exportedFields counts the fields the struct encoders write for t.
func exportedFields(t reflect.Type, depth int) int {
	n := 0
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if ft, ok := flattened(f); ok && depth < 16 {
			n += exportedFields(ft, depth+1)
		} else if f.IsExported() {
			n++
		}
	}
	return n
}

// hasOwnEncoding reports whether t (or *t) decides its encoding itself.
func hasOwnEncoding(t reflect.Type) bool {
	for _, it := range ownEncodingInterfaces {
		if t.Implements(it) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(it)) {
			return true
		}
	}
	return false
}

// MaxEncodeDepth is how deeply nested a value Marshal and MarshalJSONText
// write (see maxEncodeDepth); walkers of values bound for them use it too.
const MaxEncodeDepth = maxEncodeDepth

// JSONValue returns what JSON.parse makes of encoding/json's text for v:
// objects as map[string]any, arrays as []any, numbers as float64 (the
// nearest double, as JavaScript reads them), and strings, bools and nil. It
// is how a value without a dynamic form of its own (a struct, a typed map
// or slice, a json.Marshaler) reaches peers exactly as the socket.io
// library's JSON encoder writes it to local clients. Values that
// encoding/json cannot write, or would write without their content (see
// Marshal), are an error wrapping ErrUnsupported.
func JSONValue(v any) (any, error) {
	if v != nil && !isJSONOrText(v) {
		if err := checkType(reflect.TypeOf(v)); err != nil {
			return nil, err
		}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %T: %w", ErrUnsupported, v, err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%w: %T wrote invalid JSON: %w", ErrUnsupported, v, err)
	}
	return out, nil
}
