// Package notepack encodes and decodes MessagePack exactly the way the Node.js
// library notepack.io 3.0.1 does, so that Parley nodes can exchange messages
// with Node.js socket.io nodes over Redis.
//
// The Node Redis adapters (@socket.io/redis-adapter 8.x and the emitter use
// notepack.io; @socket.io/redis-streams-adapter uses @msgpack/msgpack, which
// writes the same format family) serialise broadcast packets with msgpack.
// Those packets end up, unchanged, in the socket.io frames sent to browser
// clients connected to other nodes. If a Go node and a Node node disagree on
// the encoding, a Date turns into {} or [-1, <Buffer>] and binary attachments
// arrive as arrays of numbers on some clients only — the failure mode described
// in item 11 of the Redis adapter user-problems study, which a single-node
// development setup never shows. Compatibility therefore means:
//
//   - Marshal writes the same bytes notepack writes for the equivalent
//     JavaScript value: numbers that are whole use the smallest integer form
//     (positive values use unsigned forms), other numbers are always float64
//     (never float32), strings are always str (never bin), []byte is bin,
//     time.Time is the timestamp extension (type -1) in its 32, 64 or 96-bit
//     form, and maps are str-keyed with a deterministic, JavaScript-like key
//     order. Map keeps a caller-chosen key order for envelopes that must match
//     Node byte for byte.
//   - Decode reads any valid msgpack the way notepack's lenient decoder does:
//     non-string map keys become the strings JavaScript would make of them,
//     invalid UTF-8 is replaced like Node's Buffer.toString does, the legacy
//     "undefined" extension (d4 00 00) becomes nil, the timestamp extension
//     becomes time.Time, and unknown extensions become [type, bytes].
//   - Decode never panics and never allocates more than the input justifies,
//     because messages come from the network.
//   - Marshal and MarshalJSONText never drop content silently: byte buffers
//     other than []byte (Binary, such as the socket.io library's
//     *types.BytesBuffer) are binary, and a value that cannot be represented
//     (channels, functions, streams, structs that would become an empty
//     map, values nested too deeply) is an error wrapping ErrUnsupported.
//   - Go integers beyond ±2^53 are written as the JavaScript number they
//     stand for (the nearest float64), so every receiver, Go or Node,
//     reads the same value.
//
// Where notepack itself produces wrong bytes (whole numbers of magnitude 2^64
// and above wrap around modulo 2^64 in notepack), Marshal deliberately writes
// a float64 instead, which every decoder reads back as the right number.
// Sub-millisecond parts of a time.Time are kept (a JavaScript Date holds
// milliseconds, so Node drops them); Go nodes therefore agree with each other
// exactly and with Node nodes to the millisecond.
package notepack
