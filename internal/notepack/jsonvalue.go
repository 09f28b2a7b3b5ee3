package notepack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// parseJSON turns a JSON document into the value JSON.parse would build:
// objects become Maps in JavaScript key order (array indexes first, then
// insertion order, a repeated key keeping its first position and last
// value), numbers stay json.Number so Marshal applies the number rules.
func parseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSON(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("notepack: invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("notepack: invalid JSON: data after the top-level value")
	}
	return v, nil
}

func readJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('['):
		return readJSONArray(dec, depth)
	case json.Delim('{'):
		return readJSONObject(dec, depth)
	}
	return tok, nil
}

func readJSONArray(dec *json.Decoder, depth int) (any, error) {
	items := []any{}
	for dec.More() {
		item, err := readJSON(dec, depth+1)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	_, err := dec.Token() // the closing ']'
	return items, err
}

func readJSONObject(dec *json.Decoder, depth int) (any, error) {
	obj := Map{}
	var index map[string]int // built lazily for large objects only
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string) // the decoder guarantees a string key here
		value, err := readJSON(dec, depth+1)
		if err != nil {
			return nil, err
		}
		obj, index = setProperty(obj, index, key, value)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	hoistArrayIndexes(obj)
	return obj, nil
}

// setProperty assigns obj[key] = value with JavaScript semantics. Small
// objects are searched linearly; past 8 keys an index avoids quadratic time.
func setProperty(obj Map, index map[string]int, key string, value any) (Map, map[string]int) {
	if index == nil && len(obj) >= 8 {
		index = make(map[string]int, 2*len(obj))
		for i, kv := range obj {
			if _, seen := index[kv.Key]; !seen {
				index[kv.Key] = i
			}
		}
	}
	if index != nil {
		if i, ok := index[key]; ok {
			obj[i].Value = value
			return obj, index
		}
		index[key] = len(obj)
		return append(obj, KV{Key: key, Value: value}), index
	}
	for i := range obj {
		if obj[i].Key == key {
			obj[i].Value = value
			return obj, index
		}
	}
	return append(obj, KV{Key: key, Value: value}), index
}
