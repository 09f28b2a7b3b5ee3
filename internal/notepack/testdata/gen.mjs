// gen.mjs captures golden msgpack bytes from the real Node encoders that
// Parley must interoperate with: notepack.io 3.0.1 (classic Redis adapter and
// emitter) and @msgpack/msgpack 2.8.0 (Redis streams adapter).
//
// Usage: node gen.mjs [output.json]   (default: golden.json next to this file)
//
// The Go tests run this script again and compare its output with the
// committed golden.json, which proves the goldens come from the real packages.

// Date.prototype.toString (used when a Date is a map key) depends on the zone.
process.env.TZ = "UTC";

import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const notepack = require("notepack.io");
const msgpackjs = require("@msgpack/msgpack");

const want = { "notepack.io": "3.0.1", "@msgpack/msgpack": "2.8.0" };
const versions = {};
for (const [pkg, version] of Object.entries(want)) {
  const got = require(`${pkg}/package.json`).version;
  if (got !== version) {
    throw new Error(`gen.mjs: ${pkg} is ${got}, goldens need ${version}`);
  }
  versions[pkg] = got;
}

// bytesOf returns a Buffer of n bytes with a recognisable pattern.
function bytesOf(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

// objectWithKeys builds {k0: 0, k1: 1, ...} with n keys.
function objectWithKeys(n) {
  const o = {};
  for (let i = 0; i < n; i++) o[`k${i}`] = i;
  return o;
}

const broadcastPacket = { type: 2, data: ["ev", "hello", 42, { n: 1.5 }], nsp: "/" };

// The table: [name, value]. Names are stable identifiers used by the Go tests.
const notepackCases = [
  // positive integers around every width boundary
  ["int_0", 0],
  ["int_1", 1],
  ["int_127", 127],
  ["int_128", 128],
  ["int_255", 255],
  ["int_256", 256],
  ["int_65535", 65535],
  ["int_65536", 65536],
  ["int_2p32m1", 2 ** 32 - 1],
  ["int_2p32", 2 ** 32],
  ["int_2p53m1", Number.MAX_SAFE_INTEGER],
  ["int_2p53", 2 ** 53],
  ["int_2p63", 2 ** 63],
  ["int_2p64", 2 ** 64],
  ["float_1e20", 1e20],
  ["float_max", Number.MAX_VALUE],
  // negative integers
  ["neg_zero", -0],
  ["int_m1", -1],
  ["int_m32", -32],
  ["int_m33", -33],
  ["int_m128", -128],
  ["int_m129", -129],
  ["int_m32768", -32768],
  ["int_m32769", -32769],
  ["int_m2p31", -(2 ** 31)],
  ["int_m2p31m1", -(2 ** 31) - 1],
  ["int_m2p53p1", Number.MIN_SAFE_INTEGER],
  ["int_m2p53", -(2 ** 53)],
  ["int_m2p63", -(2 ** 63)],
  ["float_m1e20", -1e20],
  // non-integers
  ["float_1_5", 1.5],
  ["float_m1_5", -1.5],
  ["float_0_1", 0.1],
  ["float_pi", Math.PI],
  ["float_1em7", 1e-7],
  ["float_min", Number.MIN_VALUE],
  ["float_2p51_half", 2 ** 51 + 0.5],
  ["nan", NaN],
  ["inf", Infinity],
  ["minf", -Infinity],
  // scalars
  ["nil", null],
  ["undefined", undefined],
  ["true", true],
  ["false", false],
  // strings
  ["str_empty", ""],
  ["str_ascii", "hello"],
  ["str_31", "a".repeat(31)],
  ["str_32", "b".repeat(32)],
  ["str_255", "c".repeat(255)],
  ["str_256", "d".repeat(256)],
  ["str_65536", "f".repeat(65536)],
  ["str_latin1", "héllo wörld"],
  ["str_cjk", "日本語のテキスト"],
  ["str_emoji", "hi 😀👍🏽"],
  ["str_long_unicode", "ü€😀".repeat(20)],
  // binary
  ["bin_empty", Buffer.alloc(0)],
  ["bin_3", Buffer.from([1, 2, 3])],
  ["bin_255", bytesOf(255)],
  ["bin_256", bytesOf(256)],
  ["bin_65536", bytesOf(65536)],
  ["bin_uint8array", new Uint8Array([9, 8, 7])],
  ["bin_arraybuffer", new Uint8Array([4, 5]).buffer],
  // dates (JS Dates have millisecond precision)
  ["date_epoch", new Date(0)],
  ["date_seconds", new Date("2024-01-02T03:04:05Z")],
  ["date_millis", new Date("2024-01-02T03:04:05.678Z")],
  ["date_2106", new Date("2106-02-07T06:28:16Z")],
  ["date_2106_millis", new Date("2106-02-07T06:28:16.001Z")],
  ["date_2514", new Date("2514-05-30T01:53:04Z")],
  ["date_before_epoch", new Date("1969-12-31T23:59:59Z")],
  ["date_before_epoch_millis", new Date("1969-12-31T23:59:59.500Z")],
  ["date_year_1", new Date("0001-01-01T00:00:00Z")],
  // arrays
  ["arr_empty", []],
  ["arr_15", Array.from({ length: 15 }, (_, i) => i)],
  ["arr_16", Array.from({ length: 16 }, (_, i) => i)],
  ["arr_65536", new Array(65536).fill(null)],
  ["arr_mixed", [1, "two", 3.5, null, true, [false], { x: -1 }]],
  ["arr_undefined", [1, undefined, 2]],
  // maps
  ["map_empty", {}],
  ["map_15", objectWithKeys(15)],
  ["map_16", objectWithKeys(16)],
  ["map_nested", { a: { b: { c: [1, { d: "deep" }] } }, e: [] }],
  ["map_skips_undefined_and_functions", { a: 1, b: undefined, c() {}, d: null }],
  ["map_js_key_order", { b: 1, a: 2, 10: 3, 9: 4 }],
  ["map_unicode_keys", { "ключ": "значение", "🔑": 1 }],
  ["map_tojson", { when: { toJSON: () => "custom" }, big: 1 }],
  // socket.io messages (classic adapter / emitter)
  ["sio_broadcast", ["1qFB-F", broadcastPacket, { rooms: ["r1"], except: [], flags: {} }]],
  ["sio_broadcast_room", ["1qFB-F", { type: 2, data: ["ev-r1", "room"], nsp: "/" }, { rooms: ["r1"], except: [], flags: {} }]],
  ["sio_broadcast_flags", ["1qFB-F", { type: 2, data: ["ev"], nsp: "/admin" }, { rooms: ["a", "b"], except: ["c"], flags: { volatile: true, compress: false, timeout: 4000 } }]],
  ["sio_broadcast_binary", ["1qFB-F", { type: 2, data: ["file", Buffer.from("hello"), new Date("2024-01-02T03:04:05.678Z"), { nested: Buffer.from([0, 255]) }], nsp: "/" }, { rooms: [], except: [], flags: {} }]],
  ["sio_emitter", ["emitter", broadcastPacket, { rooms: [], flags: {}, except: [] }]],
  ["sio_broadcast_request", { uid: "1qFB-F", requestId: "AiOETK", type: 7, packet: broadcastPacket, opts: { rooms: ["r1"], except: [], flags: { timeout: 4000 } } }],
  ["sio_broadcast_ack", { type: 9, requestId: "AiOETK", packet: { ok: true, at: new Date("2024-01-02T03:04:05.678Z") } }],
];

// Values encoded by @msgpack/msgpack (streams adapter) with its defaults;
// the Go decoder must read them too.
const msgpackjsCases = [
  ["mj_int_2p53", 2 ** 53],
  ["mj_int_m2p40", -(2 ** 40)],
  ["mj_float", 1.5],
  ["mj_bin", new Uint8Array([1, 2, 3])],
  ["mj_date_millis", new Date("2024-01-02T03:04:05.678Z")],
  ["mj_date_before_epoch", new Date("1969-12-31T23:59:59.500Z")],
  ["mj_undefined_in_map", { a: undefined, b: [undefined] }],
  ["mj_ext_custom", new msgpackjs.ExtData(5, new Uint8Array([0xaa, 0xbb]))],
  ["mj_stream_envelope", {
    type: 7,
    data: { opts: { rooms: [], except: [], flags: { timeout: 4000 } }, requestId: "f0a1b2c3" },
    uid: "affd34179a948970",
    nsp: "/",
  }],
  ["mj_stream_binary_broadcast", {
    packet: { type: 2, data: ["file", Buffer.from("hello")] },
    opts: { rooms: [], except: [], flags: {} },
  }],
];

// describe turns a JS value into plain JSON that shows what was encoded,
// including what JSON cannot express (binary, dates, NaN, -0, undefined).
function describe(v) {
  if (v === undefined) return { $undefined: true };
  if (typeof v === "function") return { $function: true };
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { $number: "NaN" };
    if (!Number.isFinite(v)) return { $number: v > 0 ? "Infinity" : "-Infinity" };
    if (Object.is(v, -0)) return { $number: "-0" };
    return v;
  }
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Date) return { $date: v.toISOString() };
  if (Buffer.isBuffer(v)) return { $binary: v.toString("hex") };
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return { $binary: Buffer.from(v).toString("hex") };
  if (v instanceof msgpackjs.ExtData) return [v.type, { $binary: Buffer.from(v.data).toString("hex") }];
  if (Array.isArray(v)) return v.map(describe);
  if (typeof v.toJSON === "function") return { $toJSON: describe(v.toJSON()) };
  const out = {};
  for (const k of Object.keys(v)) out[k] = describe(v[k]);
  return out;
}

// Big cases are described by their shape only, to keep golden.json readable.
function summary(v) {
  const json = JSON.stringify(describe(v));
  if (json.length <= 200) return describe(v);
  return { $summary: `${json.slice(0, 60)}... (${json.length} chars)` };
}

// capture encodes every case and records what the matching Node decoder
// makes of the bytes.
function capture(cases, encode, decode) {
  const out = {};
  for (const [name, value] of cases) {
    if (name in out) throw new Error(`gen.mjs: duplicate case ${name}`);
    const bytes = Buffer.from(encode(value));
    out[name] = { value: summary(value), hex: bytes.toString("hex"), decoded: summary(decode(bytes)) };
  }
  return out;
}

// decodeOnly records what notepack's decoder makes of hand-written inputs
// that notepack never writes itself: legacy extensions, non-string keys,
// invalid UTF-8, non-minimal forms and malformed data.
function decodeOnly(cases) {
  const out = {};
  for (const [name, hex] of cases) {
    if (name in out) throw new Error(`gen.mjs: duplicate case ${name}`);
    try {
      out[name] = { hex, decoded: describe(notepack.decode(Buffer.from(hex, "hex"))) };
    } catch (err) {
      out[name] = { hex, error: err.message };
    }
  }
  return out;
}

// u64 writes a 64-bit big-endian value as hex.
function u64(big) {
  return BigInt.asUintN(64, big).toString(16).padStart(16, "0");
}

// f64 writes a float64 big-endian value as hex.
function f64(x) {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return b.toString("hex");
}

const ms = 1704164645678n; // 2024-01-02T03:04:05.678Z

const decodeCases = [
  ["legacy_undefined", "d40000"],
  ["legacy_undefined_in_map", "81a161d40000"],
  ["legacy_undefined_in_array", "92d4000001"],
  ["legacy_arraybuffer_ext8", "c70300010203"],
  ["legacy_arraybuffer_ext16", "c800020007ff"],
  ["legacy_date_fixext8", "d700" + u64(ms)],
  ["legacy_fixext2_type0", "d5000102"],
  ["ext_fixext1_custom", "d405aa"],
  ["ext8_custom", "c70205aabb"],
  ["ext_fixext16_custom", "d8f0" + "00112233445566778899aabbccddeeff"],
  ["ext_fixext2_type_m1", "d5ffaabb"],
  ["timestamp64_nanos", "d7ff" + u64((123456789n << 34n) | 1704164645n)],
  ["timestamp96_2514", "c70cff" + "00000001" + u64(1n << 34n)],
  ["timestamp32_max", "d6ffffffffff"],
  ["float32", "ca3fc00000"],
  ["float32_nan", "ca7fc00000"],
  ["float32_neg_inf", "caff800000"],
  ["uint64_max", "cfffffffffffffffff"],
  ["uint64_2p63", "cf8000000000000000"],
  ["int64_min", "d38000000000000000"],
  ["int64_positive", "d30000000000000005"],
  ["uint8_small", "cc05"],
  ["int8_positive", "d005"],
  ["int32_minus1", "d2ffffffff"],
  ["str8_short", "d903616263"],
  ["str32_short", "db00000001" + "7a"],
  ["bin32_short", "c600000001" + "7a"],
  ["array16_short", "dc000101"],
  ["array32_short", "dd0000000101"],
  ["map16_short", "de0001a16101"],
  ["map32_short", "df00000001a16101"],
  ["key_int", "8101a161"],
  ["key_negative_int", "81ffa161"],
  ["key_float", "81cb3ff8000000000000a161"],
  ["key_float_1e21", "81cb" + f64(1e21) + "a161"],
  ["key_float_123e20", "81cb" + f64(1.23e20) + "a161"],
  ["key_float_small", "81cb" + f64(-0.000123) + "a161"],
  ["key_float_tiny", "81cb" + f64(-1.5e-300) + "a161"],
  ["key_float_1em7", "81cb" + f64(1e-7) + "a161"],
  ["key_float_nan", "81cb7ff8000000000000a161"],
  ["key_uint64_max", "81cfffffffffffffffffa161"],
  ["key_nil", "81c0a161"],
  ["key_true", "81c3a161"],
  ["key_array", "81920102a161"],
  ["key_nested_array", "8192920192020391c0a161"],
  ["key_map", "818101a162a161"],
  ["key_bin", "81c4026869a161"],
  ["key_date", "81d6ff00000000a161"],
  ["key_undefined", "81d40000a161"],
  ["key_ext", "81d405aaa161"],
  ["key_duplicate", "82a16101a16102"],
  ["key_int_and_string_collide", "8201a161a13102"],
  ["str_invalid_2byte", "a2c328"],
  ["str_invalid_truncated_3byte", "a3e28241"],
  ["str_invalid_truncated_4byte", "a4f09f9841"],
  ["str_invalid_surrogate", "a3eda080"],
  ["str_invalid_overlong", "a2c080"],
  ["str_invalid_ff", "a1ff"],
  ["str_invalid_lone_continuation", "a180"],
  ["str_invalid_above_max", "a5f490808041"],
  ["str_invalid_at_end", "a3f09f98"],
  ["str_replacement_char", "a3efbfbd"],
  ["error_reserved_c1", "c1"],
  ["error_trailing", "c0c0"],
  ["error_truncated_array", "91"],
  ["error_truncated_str", "a56869"],
  ["error_truncated_float", "cb0000"],
  ["error_truncated_timestamp", "d6ff0000"],
  ["error_forged_array32", "ddffffffff"],
  ["error_forged_map32", "dfffffffff"],
  ["error_forged_bin8", "c4ff00"],
  ["error_empty", ""],
];

const golden = {
  comment: "Generated by gen.mjs from the real Node packages; do not edit by hand.",
  versions,
  notepack: capture(notepackCases, notepack.encode, notepack.decode),
  msgpackjs: capture(msgpackjsCases, (v) => msgpackjs.encode(v), (b) => msgpackjs.decode(b)),
  decode: decodeOnly(decodeCases),
};

const here = dirname(fileURLToPath(import.meta.url));
const target = process.argv[2] || join(here, "golden.json");
writeFileSync(target, JSON.stringify(golden, null, 1) + "\n");
