package notepack

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Extension type ids that notepack gives a meaning to.
const (
	extTimestamp int8 = -1 // msgpack timestamp; notepack 3 writes Dates so
	extLegacy    int8 = 0  // notepack 1-2: undefined, ArrayBuffer or Date
)

// ext decodes an extension value whose first byte is c.
func (d *decoder) ext(c byte) (any, error) {
	id, n, err := d.dec.DecodeExtHeader()
	if err != nil {
		return nil, d.readErr(err)
	}
	payload, err := d.take(n)
	if err != nil {
		return nil, err
	}
	switch id {
	case extTimestamp:
		if t, ok := timestamp(payload); ok {
			return t, nil
		}
	case extLegacy:
		if v, ok := legacyExt(c, payload); ok {
			return v, nil
		}
	}
	return []any{int64(id), bytes.Clone(payload)}, nil
}

// timestamp decodes the three msgpack timestamp layouts; other payload sizes
// are not timestamps and are returned as raw extensions instead.
func timestamp(p []byte) (time.Time, bool) {
	switch len(p) {
	case 4: // uint32 seconds
		return time.Unix(int64(binary.BigEndian.Uint32(p)), 0).UTC(), true
	case 8: // 30-bit nanoseconds, 34-bit seconds
		v := binary.BigEndian.Uint64(p)
		return time.Unix(int64(v&(1<<34-1)), int64(v>>34)).UTC(), true
	case 12: // uint32 nanoseconds, int64 seconds
		ns := binary.BigEndian.Uint32(p)
		sec := int64(binary.BigEndian.Uint64(p[4:]))
		return time.Unix(sec, int64(ns)).UTC(), true
	}
	return time.Time{}, false
}

// legacyExt decodes the type-0 extensions notepack still reads for backward
// compatibility with its own older versions.
func legacyExt(c byte, p []byte) (any, bool) {
	switch c {
	case msgpcode.FixExt1: // undefined
		return undefinedValue{}, true
	case msgpcode.FixExt8: // Date as int64 milliseconds
		ms := int64(binary.BigEndian.Uint64(p))
		return time.UnixMilli(ms).UTC(), true
	case msgpcode.Ext8, msgpcode.Ext16, msgpcode.Ext32: // ArrayBuffer
		return bytes.Clone(p), true
	}
	return nil, false
}
