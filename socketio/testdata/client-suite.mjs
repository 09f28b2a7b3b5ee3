// client-suite.mjs drives Parley's Socket.IO server (the rig of
// rig_test.go) with the official socket.io-client 4.8 (npm, pinned by the
// repository's package-lock.json) and checks, from the client's side, every
// behaviour of its scenarios over each transport: long polling only,
// WebSocket only, and polling then upgrade.
//
// It prints one line per scenario and transport, "PASS <mode>/<name>" or
// "FAIL <mode>/<name>: <reason>", then "DONE <passed>/<total>", and exits 0
// when it could run (the Go test reads the lines).
//
// usage: node client-suite.mjs <control server URL> [scenario name filter]
import { io, Manager } from "socket.io-client";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

const [control, only] = process.argv.slice(2);
if (!control) {
  console.error("usage: node client-suite.mjs <control server URL> [filter]");
  process.exit(2);
}

const MODES = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] };
let transports; // of the mode running
let mode;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until resolves once cond() holds, checking every 2 ms.
async function until(cond, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

// pattern is the byte sequence the Go rig makes for size n.
function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + n) % 251;
  return b;
}

const isBinary = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);

function bytesOf(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

// shape is the rig's shape(): binary as its length and SHA-256.
function shape(v) {
  if (isBinary(v)) {
    const b = bytesOf(v);
    return { $bin: b.length, sha: createHash("sha256").update(b).digest("hex") };
  }
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return v;
}

// plain turns every binary into a Buffer of its bytes, for byte-for-byte
// comparisons with assert.deepEqual.
function plain(v) {
  if (isBinary(v)) return Buffer.from(bytesOf(v));
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

// Every client made by a scenario is recorded and closed at its end.
let opened = [];

// record keeps every event a socket receives, with the transport it came
// over.
function record(socket) {
  socket.log = [];
  socket.waiters = new Set();
  const push = (event, args) => {
    socket.log.push({ event, args, transport: socket.io.engine?.transport?.name });
    for (const w of [...socket.waiters]) w();
  };
  socket.onAny((event, ...args) => push(event, args));
  socket.on("connect", () => push("connect", []));
  socket.on("disconnect", (reason) => push("disconnect", [reason]));
  socket.on("connect_error", (err) => push("connect_error", [err]));
  opened.push(socket);
  return socket;
}

function connect(url, opts = {}) {
  return record(io(url, { forceNew: true, reconnection: false, transports, ...opts }));
}

function manager(url, opts = {}) {
  const m = new Manager(url, { reconnection: false, transports, ...opts });
  m.nsp = (name, o) => record(m.socket(name, o));
  return m;
}

const events = (socket, event, match = () => true) => socket.log.filter((e) => e.event === event && match(...e.args));

// waitFor resolves with the args of the n-th event named event that
// matches, received already or to come.
function waitFor(socket, event, match = () => true, n = 1, ms = 5000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const hits = events(socket, event, match);
      if (hits.length < n) return false;
      socket.waiters.delete(check);
      clearTimeout(timer);
      resolve(hits[n - 1].args);
      return true;
    };
    const timer = setTimeout(() => {
      socket.waiters.delete(check);
      reject(new Error(`no ${event} #${n} within ${ms} ms; got ${JSON.stringify(socket.log.map((e) => e.event))}`));
    }, ms);
    if (!check()) socket.waiters.add(check);
  });
}

const connected = (...sockets) => Promise.all(sockets.map((s) => waitFor(s, "connect")));

// The control connection: to the rig's first server, over WebSocket.
const ctl = io(control, { transports: ["websocket"], forceNew: true });
const call = (ev, ...args) => ctl.timeout(10000).emitWithAck(ev, ...args);
const newServer = async (opts = {}) => (await call("server", opts)).url;
let servers = [];
async function server(opts) {
  const url = await newServer(opts);
  servers.push(url);
  return url;
}
const reasonOf = (id, n = 1) => call("reason", { id, n });

// op runs a namespace operation on the server a socket is connected to.
async function op(socket, req) {
  const res = await socket.timeout(10000).emitWithAck("op", req);
  if (res && res.err && req.action !== "emitWithAck") throw new Error(`op ${JSON.stringify(req)}: ${res.err}`);
  return res;
}

// delivered checks who of clients (name → socket) receive the event "bc"
// with a fresh tag after trigger(tag): every client then gets a marker
// broadcast, which travels behind whatever was sent to it before.
let tagCount = 0;
async function delivered(ctlSocket, nsp, clients, trigger) {
  const tag = `t${tagCount++}`;
  await trigger(tag);
  await op(ctlSocket, { action: "emit", nsp, event: "mark", args: [tag] });
  await Promise.all(Object.values(clients).map((s) => waitFor(s, "mark", (m) => m === tag)));
  const got = [];
  for (const [name, s] of Object.entries(clients)) {
    const n = events(s, "bc", (t) => t === tag).length;
    assert.ok(n <= 1, `${name} got ${tag} ${n} times`);
    if (n) got.push(name);
  }
  return got;
}

// step names what a scenario is doing, for the message of a timeout.
let current = "";
const step = (what) => (current = what);

const scenarios = [];
const scenario = (name, fn) => scenarios.push({ name, fn });

scenario("transport", async (url) => {
  const s = connect(url);
  const engine = s.io.engine;
  assert.equal(engine.transport.name, transports[0], "the first transport");
  let upgraded = false;
  engine.on("upgrade", () => (upgraded = true));
  await connected(s);
  if (mode === "upgrade") await until(() => upgraded, "the upgrade");
  else await sleep(100);
  const want = mode === "polling" ? "polling" : "websocket";
  assert.equal(engine.transport.name, want);
  assert.equal(upgraded, mode === "upgrade");
  const who = await s.emitWithAck("whoami");
  assert.equal(who.id, s.id);
  assert.equal(who.engineId, engine.id);
  assert.equal(who.transport, want);
  assert.equal(who.nsp, "/");
});

scenario("order-across-upgrade", async (url) => {
  const s = connect(url, { auth: { stream: true } });
  const engine = s.io.engine;
  const sent = [];
  let seq = 0;
  const emitSeq = () => {
    s.emit("seq", seq);
    sent.push(seq++);
  };
  let duringUpgrade = 0;
  let upgraded = false;
  engine.on("upgrading", () => {
    // Between the probe and the upgrade packet: these wait in the client's
    // buffer and go out over the WebSocket.
    for (let i = 0; i < 5; i++, duringUpgrade++) emitSeq();
  });
  engine.on("upgrade", () => (upgraded = true));
  await connected(s);
  const timer = setInterval(emitSeq, 1);
  try {
    if (mode === "upgrade") {
      await until(() => upgraded, "the upgrade");
      // The server's first burst follows the WebSocket's handshake on the
      // handler's goroutine, which a loaded machine may run after the
      // client has upgraded: stopping the stream before it would leave
      // nothing to check.
      await waitFor(s, "stream", (e) => e.during, 5);
    }
    await sleep(60);
  } finally {
    clearInterval(timer);
  }
  assert.deepEqual(await s.emitWithAck("seq-done"), sent, "client to server: once each, in order");
  const total = await s.emitWithAck("stream-stop");
  const items = events(s, "stream");
  assert.deepEqual(items.map((e) => e.args[0].n), [...Array(total).keys()], "server to client: once each, in order");
  if (mode === "upgrade") {
    assert.equal(duringUpgrade, 5);
    // The server emits five events when the WebSocket arrives and after
    // each poll from then on; those after the last poll wait for the
    // upgrade to complete.
    const burst = items.filter((e) => e.args[0].during);
    assert.ok(burst.length >= 5 && burst.length % 5 === 0, `${burst.length} events emitted during the upgrade`);
    const last = burst.slice(-5);
    assert.deepEqual(last.map((e) => e.transport), Array(5).fill("websocket"), "the last poll's burst came over the WebSocket");
    const overPolling = items.filter((e) => e.transport === "polling").length;
    return `${sent.length} up, ${total} down (${overPolling} over polling, ${burst.length} emitted during the upgrade)`;
  }
  return `${sent.length} up, ${total} down`;
});

// clientBinary has ten attachments, the most a packet may carry (Node's
// and Parley's default).
const clientBinary = () => [
  Buffer.alloc(0),
  pattern(1 << 20),
  new Uint8Array(pattern(10)).buffer,
  new Uint8Array(pattern(16)),
  new Uint8Array(pattern(40)).subarray(10, 20),
  new Int16Array([1, -2, 300]),
  { nested: { buf: pattern(3), list: [new Uint8Array(pattern(5)).buffer, "s"] }, n: 1 },
  [pattern(6), { deep: [[pattern(8)]] }],
  "text",
  12,
];

scenario("binary", async (url) => {
  const s = connect(url);
  await connected(s);
  const args = clientBinary();
  // What the server decoded, byte for byte (length and SHA-256 of each).
  step("digest");
  const shapes = await new Promise((r) => s.emit("digest", ...args, (...res) => r(res)));
  assert.deepEqual(shapes, args.map(shape));
  // Back in an ack (BINARY_ACK) and in an event (BINARY_EVENT).
  step("echo");
  const acked = await new Promise((r) => s.emit("echo", ...args, (...res) => r(res)));
  assert.deepEqual(plain(acked), plain(args));
  step("echo-event");
  s.emit("echo-event", ...args);
  const echoed = await waitFor(s, "echoed");
  assert.deepEqual(plain(echoed), plain(args));
  // Made by the server.
  const want = [
    pattern(0),
    pattern(1 << 20),
    { a: pattern(3), nested: [pattern(5), { b: pattern(7), text: "t" }] },
    [pattern(1), pattern(2), "x", 42],
    "plain",
  ];
  step("server-binary");
  const fromAck = await new Promise((r) => s.emit("server-binary", (...res) => r(res)));
  assert.deepEqual(plain(fromAck), want);
  const fromEvent = await waitFor(s, "server-binary");
  assert.deepEqual(plain(fromEvent), want);
  assert.ok(Buffer.isBuffer(fromEvent[0]), "binary arrives as a Buffer in Node");
  step("eleven attachments");
  // Eleven attachments: the server closes the connection, as Node's does.
  const id = s.id;
  s.emit("echo", ...[...Array(11).keys()].map((i) => pattern(i)));
  await waitFor(s, "disconnect");
  assert.equal(await reasonOf(id), "forced close");
});

scenario("acks", async (url) => {
  const s = connect(url);
  await connected(s);
  assert.equal(await s.emitWithAck("echo", "first", 2), "first");
  const all = await new Promise((r) => s.emit("echo", 1, "two", { three: [3] }, null, true, (...a) => r(a)));
  assert.deepEqual(all, [1, "two", { three: [3] }, null, true]);
  const none = await new Promise((r) => s.emit("echo", (...a) => r(a)));
  assert.deepEqual(none, []);
  // The server does not answer events nobody handles.
  await assert.rejects(s.timeout(150).emitWithAck("nobody-listens"), /timed out/);

  // Server to client: EmitWithAck with and without a timeout.
  s.on("question", (...args) => {
    const ack = args.pop();
    ack("answer", ...args, pattern(9));
  });
  s.on("silent", () => {});
  s.on("late", (...args) => {
    const ack = args.pop();
    setTimeout(() => ack("too late"), 250);
  });
  const ask = async (req) => {
    s.emit("ask", req);
    return (await waitFor(s, "ask-result", (r) => r.tag === req.tag))[0];
  };
  let r = await ask({ tag: "plain", event: "question", args: ["q1", { k: [1] }] });
  assert.equal(r.err, null);
  assert.deepEqual(plain(r.args), ["answer", "q1", { k: [1] }, pattern(9)]);
  assert.deepEqual(r.shapes[3], shape(pattern(9)));
  r = await ask({ tag: "timed", event: "question", timeoutMs: 3000, args: ["q2"], binary: [4] });
  assert.equal(r.err, null);
  assert.deepEqual(plain(r.args), ["answer", "q2", pattern(4), pattern(9)]);
  r = await ask({ tag: "timeout", event: "silent", timeoutMs: 100 });
  assert.match(r.err, /timed out/);
  r = await ask({ tag: "late", event: "late", timeoutMs: 100 });
  assert.match(r.err, /timed out/);
  await sleep(300); // the late answer came and was ignored
  assert.equal(events(s, "ask-result", (x) => x.tag === "late").length, 1);
  assert.equal((await s.emitWithAck("whoami")).id, s.id);
});

scenario("broadcast-with-acks", async (url) => {
  const clients = {};
  const answering = { A: true, B: true, C: true };
  for (const name of ["A", "B", "C"]) {
    const c = (clients[name] = connect(url + "/a", { auth: { name } }));
    c.on("vote", (x, ack) => {
      if (answering[name]) ack(`${name}:${x}`);
    });
  }
  const boss = connect(url);
  await connected(boss, ...Object.values(clients));
  for (const c of Object.values(clients)) await c.emitWithAck("join", "r");
  let r = await op(boss, { action: "emitWithAck", nsp: "/a", to: ["r"], timeoutMs: 3000, event: "vote", args: [1] });
  assert.deepEqual(r, { responses: ["A:1", "B:1", "C:1"], err: null });
  r = await op(boss, { action: "emitWithAck", nsp: "/a", timeoutMs: 3000, event: "vote", args: [2] });
  assert.deepEqual(r, { responses: ["A:2", "B:2", "C:2"], err: null });
  answering.C = false;
  r = await op(boss, { action: "emitWithAck", nsp: "/a", to: ["r"], timeoutMs: 200, event: "vote", args: [3] });
  assert.match(r.err, /timed out/);
  assert.deepEqual(r.responses, ["A:3", "B:3"]);
  // Nobody selected: answered at once, not at the timeout.
  const start = Date.now();
  r = await op(boss, { action: "emitWithAck", nsp: "/a", to: ["empty"], timeoutMs: 5000, event: "vote", args: [4] });
  assert.deepEqual(r, { responses: [], err: null });
  assert.ok(Date.now() - start < 2500, "an empty broadcast with acks waited for its timeout");
  // Without a timeout the operation times out at once, as in Node.
  r = await op(boss, { action: "emitWithAck", nsp: "/a", event: "vote", args: [5] });
  assert.match(r.err, /timed out/);
});

scenario("namespaces", async (url) => {
  const m = manager(url);
  const root = m.nsp("/");
  const a = m.nsp("/a");
  const b = m.nsp("/b");
  await connected(root, a, b);
  const who = await Promise.all([root, a, b].map((s) => s.emitWithAck("whoami")));
  assert.deepEqual(who.map((w) => w.nsp), ["/", "/a", "/b"]);
  assert.equal(new Set(who.map((w) => w.engineId)).size, 1, "one connection for the three namespaces");
  assert.equal(who[0].engineId, m.engine.id);
  assert.equal(new Set(who.map((w) => w.id)).size, 3);
  // A broadcast in /a reaches only /a.
  await op(root, { action: "emit", nsp: "/a", event: "only-a", args: [1] });
  await op(root, { action: "emit", nsp: "/", event: "mark", args: [] });
  await op(root, { action: "emit", nsp: "/b", event: "mark", args: [] });
  await waitFor(a, "only-a");
  await Promise.all([waitFor(root, "mark"), waitFor(b, "mark")]);
  assert.equal(events(root, "only-a").length + events(b, "only-a").length, 0);
  // An unknown namespace is refused; the others carry on.
  const nope = m.nsp("/nope");
  const [err] = await waitFor(nope, "connect_error");
  assert.equal(err.message, "Invalid namespace");
  assert.equal(nope.active, false);
  // Leaving one namespace leaves the others connected.
  const bid = b.id;
  b.disconnect();
  assert.equal(await reasonOf(bid), "client namespace disconnect");
  assert.equal((await a.emitWithAck("whoami")).id, a.id);
  assert.equal((await root.emitWithAck("whoami")).id, root.id);
});

scenario("dynamic-namespace", async (url) => {
  const d = connect(url + "/dyn-42", { auth: { key: "dyn" } });
  await connected(d);
  const who = await d.emitWithAck("whoami");
  assert.equal(who.nsp, "/dyn-42");
  assert.deepEqual(who.data, { by: "middleware" }, "the group's middleware ran");
  await op(d, { action: "emit", nsp: "/dyn-42", event: "dyn-hello", args: [] });
  await waitFor(d, "dyn-hello");
  for (const [name, auth] of [["/dyn-43", { key: "wrong" }], ["/dyn-x", { key: "dyn" }]]) {
    const bad = connect(url + name, { auth });
    const [err] = await waitFor(bad, "connect_error");
    assert.equal(err.message, "Invalid namespace", name);
  }
});

scenario("middleware-refusal", async (url) => {
  const s = connect(url + "/mw");
  let [err] = await waitFor(s, "connect_error");
  assert.equal(err.message, "not authorized");
  assert.deepEqual(err.data, { code: 401, hint: "send a token" });
  assert.equal(s.active, false, "a refused socket does not retry");
  const p = connect(url + "/mw", { auth: { plain: true } });
  [err] = await waitFor(p, "connect_error");
  assert.equal(err.message, "plain refusal");
  assert.equal(err.data, undefined);
  const ok = connect(url + "/mw", { auth: { token: "let-me-in" } });
  await connected(ok);
  assert.deepEqual((await ok.emitWithAck("whoami")).data, { by: "middleware" });
  // A refusal in one namespace leaves the connection's others alone.
  const m = manager(url);
  const root = m.nsp("/");
  const mw = m.nsp("/mw");
  await connected(root);
  [err] = await waitFor(mw, "connect_error");
  assert.equal(err.message, "not authorized");
  assert.equal((await root.emitWithAck("whoami")).id, root.id);
});

scenario("event-middleware", async (url) => {
  const s = connect(url);
  await connected(s);
  s.emit("forbidden", 1);
  assert.equal(await s.emitWithAck("allowed", 2), "handled allowed");
  await assert.rejects(s.timeout(150).emitWithAck("forbidden"), /timed out/);
  const h = await s.emitWithAck("handled");
  assert.deepEqual(h, { events: ["allowed"], errors: ["forbidden event", "forbidden event"] });
});

// fourClients connects A (in r1), B (r1, r2), C (r2) and D to /a, and a
// controller to /.
async function fourClients(url) {
  const rooms = { A: ["r1"], B: ["r1", "r2"], C: ["r2"], D: [] };
  const clients = {};
  for (const name of Object.keys(rooms)) clients[name] = connect(url + "/a", { auth: { name } });
  const boss = connect(url);
  await connected(boss, ...Object.values(clients));
  for (const [name, r] of Object.entries(rooms)) if (r.length) await clients[name].emitWithAck("join", ...r);
  return { clients, boss };
}

scenario("rooms-and-operators", async (url) => {
  const { clients: c, boss } = await fourClients(url);
  const all = ["A", "B", "C", "D"];
  const emit = (extra) => (tag) => op(boss, { action: "emit", nsp: "/a", event: "bc", args: [tag], ...extra });
  const relay = (from, req) => (tag) => c[from].emitWithAck("relay", { event: "bc", args: [tag], ...req });
  const check = async (label, trigger, want) => assert.deepEqual(await delivered(boss, "/a", c, trigger), want, label);
  await check("to r1", emit({ to: ["r1"] }), ["A", "B"]);
  await check("in r2", emit({ in: ["r2"] }), ["B", "C"]);
  await check("to r1 r2", emit({ to: ["r1", "r2"] }), ["A", "B", "C"]);
  await check("except r2", emit({ except: ["r2"] }), ["A", "D"]);
  await check("to r1 except r2", emit({ to: ["r1"], except: ["r2"] }), ["A"]);
  await check("to a socket's own room", emit({ to: [c.C.id] }), ["C"]);
  await check("local", emit({ local: true }), all);
  await sleep(100); // every polling client has its next poll waiting
  await check("volatile", emit({ volatile: true }), all);
  await check("socket.to(r1) from A", relay("A", { to: ["r1"] }), ["B"]);
  await check("socket.broadcast from A", relay("A", { broadcast: true }), ["B", "C", "D"]);
  await check("socket.except(r2) from A", relay("A", { except: ["r2"] }), ["D"]);
  await check("socket.to(r2).except(r1) from C", relay("C", { to: ["r2"], except: ["r1"] }), []);
  assert.deepEqual(await c.B.emitWithAck("leave", "r1"), [c.B.id, "r2"]);
  await check("to r1 after B left", emit({ to: ["r1"] }), ["A"]);
  assert.deepEqual((await c.B.emitWithAck("whoami")).rooms, [c.B.id, "r2"]);
});

scenario("server-disconnect", async (url) => {
  const s = connect(url, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
  await connected(s);
  const id = s.id;
  s.emit("disconnect-me", { close: false });
  const [reason] = await waitFor(s, "disconnect");
  assert.equal(reason, "io server disconnect");
  assert.equal(s.active, false);
  assert.equal(await reasonOf(id), "server namespace disconnect");
  await sleep(300);
  assert.equal(events(s, "connect").length, 1, "the client reconnected");
  assert.equal(s.connected, false);
});

scenario("server-disconnect-close", async (url) => {
  const m = manager(url, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
  const root = m.nsp("/");
  const a = m.nsp("/a");
  const b = m.nsp("/b");
  await connected(root, a, b);
  // Without close, only the namespace goes.
  b.emit("disconnect-me", { close: false });
  assert.equal((await waitFor(b, "disconnect"))[0], "io server disconnect");
  assert.equal((await root.emitWithAck("whoami")).id, root.id);
  const ids = [root.id, a.id];
  root.emit("disconnect-me", { close: true });
  for (const s of [root, a]) assert.equal((await waitFor(s, "disconnect"))[0], "io server disconnect");
  for (const id of ids) assert.equal(await reasonOf(id), "server namespace disconnect");
  await sleep(300);
  assert.equal(events(root, "connect").length + events(a, "connect").length, 2, "the client reconnected");
  assert.equal(m._readyState, "closed");
});

scenario("disconnect-sockets", async (url) => {
  const { clients: c, boss } = await fourClients(url);
  await op(boss, { action: "disconnectSockets", nsp: "/a", in: ["r1"] });
  for (const n of ["A", "B"]) assert.equal((await waitFor(c[n], "disconnect"))[0], "io server disconnect");
  for (const n of ["C", "D"]) assert.equal((await c[n].emitWithAck("whoami")).id, c[n].id);
  // With close, the whole connection of each selected socket goes: its
  // other namespaces too.
  const m = manager(url);
  const root = m.nsp("/");
  const e = m.nsp("/a");
  await connected(root, e);
  await e.emitWithAck("join", "gone");
  await op(boss, { action: "disconnectSockets", nsp: "/a", in: ["gone"], close: true });
  for (const s of [e, root]) assert.equal((await waitFor(s, "disconnect"))[0], "io server disconnect");
  for (const n of ["C", "D"]) assert.equal((await c[n].emitWithAck("whoami")).id, c[n].id);
  // Everyone.
  await op(boss, { action: "disconnectSockets", nsp: "/a" });
  for (const n of ["C", "D"]) assert.equal((await waitFor(c[n], "disconnect"))[0], "io server disconnect");
  assert.equal((await boss.emitWithAck("whoami")).id, boss.id);
});

scenario("sockets-join-leave", async (url) => {
  const { clients: c, boss } = await fourClients(url);
  const emitTo = (room) => (tag) => op(boss, { action: "emit", nsp: "/a", to: [room], event: "bc", args: [tag] });
  const check = async (label, trigger, want) => assert.deepEqual(await delivered(boss, "/a", c, trigger), want, label);
  await op(boss, { action: "socketsJoin", nsp: "/a", in: [c.A.id], rooms: ["x"] });
  await check("x after A joined", emitTo("x"), ["A"]);
  await op(boss, { action: "socketsJoin", nsp: "/a", rooms: ["y", "z"] });
  await check("y after all joined", emitTo("y"), ["A", "B", "C", "D"]);
  await op(boss, { action: "socketsJoin", nsp: "/a", in: ["r2"], except: ["r1"], rooms: ["w"] });
  await check("w after r2 except r1 joined", emitTo("w"), ["C"]);
  await op(boss, { action: "socketsLeave", nsp: "/a", in: [c.B.id], rooms: ["y"] });
  await check("y after B left", emitTo("y"), ["A", "C", "D"]);
  await op(boss, { action: "socketsLeave", nsp: "/a", rooms: ["x", "y", "z", "w"] });
  await check("x after all left", emitTo("x"), []);
  await check("y after all left", emitTo("y"), []);
  assert.deepEqual((await c.A.emitWithAck("whoami")).rooms, [c.A.id, "r1"]);
});

scenario("fetch-sockets", async (url) => {
  const { clients: c, boss } = await fourClients(url);
  const byId = (list) => [...list].sort((x, y) => (x.id < y.id ? -1 : 1));
  let got = await op(boss, { action: "fetchSockets", nsp: "/a", in: ["r1"] });
  const want = [c.A, c.B].map((s) => ({ id: s.id, name: s.auth.name }));
  assert.deepEqual(byId(got).map((s) => ({ id: s.id, name: s.auth.name })), byId(want));
  for (const s of got) {
    assert.ok(s.rooms.includes("r1") && s.rooms[0] === s.id, JSON.stringify(s.rooms));
    assert.deepEqual(s.data, { by: "middleware" });
    assert.equal(s.local, true);
  }
  got = await op(boss, { action: "fetchSockets", nsp: "/a" });
  assert.equal(got.length, 4);
  got = await op(boss, { action: "fetchSockets", nsp: "/a", except: ["r1"] });
  assert.deepEqual(got.map((s) => s.auth.name).sort(), ["C", "D"]);
  got = await op(boss, { action: "fetchSockets", nsp: "/a", in: ["nobody"] });
  assert.deepEqual(got, []);
});

scenario("server-disconnect-reasons", async (url) => {
  // The client leaves the namespace.
  const s1 = connect(url);
  await connected(s1);
  const id1 = s1.id;
  s1.disconnect();
  assert.equal(await reasonOf(id1), "client namespace disconnect");
  // The client closes its connection.
  const s2 = connect(url);
  await connected(s2);
  const id2 = s2.id;
  s2.io.engine.close();
  assert.equal(await reasonOf(id2), "transport close");
  // The client stops answering pings.
  const hb = await server({ pingIntervalMs: 100, pingTimeoutMs: 100 });
  const s3 = connect(hb);
  await connected(s3);
  const id3 = s3.id;
  const engine = s3.io.engine;
  const send = engine._sendPacket;
  engine._sendPacket = function (type, ...rest) {
    if (type !== "pong") return send.call(this, type, ...rest);
  };
  assert.equal(await reasonOf(id3), "ping timeout");
  assert.equal((await waitFor(s3, "disconnect"))[0], "transport close");
  // The server shuts down.
  const sd = await server({});
  const s4 = connect(sd);
  await connected(s4);
  const id4 = s4.id;
  await sleep(50); // an idle client: its next poll waits at the server
  await call("drop-server", { url: sd });
  assert.equal(await reasonOf(id4), "server shutting down");
  assert.equal((await waitFor(s4, "disconnect"))[0], "transport close");
});

// lose drops a socket's connection as a network failure would, and waits
// until the server has seen it go.
async function lose(s, id, n) {
  s.io.engine.close();
  assert.equal(await reasonOf(id, n), "transport close");
}

scenario("connection-state-recovery", async () => {
  const url = await server({ recovery: true });
  const boss = connect(url);
  const s = connect(url);
  await connected(boss, s);
  assert.equal(s.recovered, false);
  const id = s.id;
  await s.emitWithAck("join", "room-r");
  await op(boss, { action: "emit", event: "hello", args: [] });
  await waitFor(s, "hello");
  await lose(s, id, 1);
  // Missed while away: a broadcast to its room, a binary one to everyone,
  // a direct emit; and one to a room it is not in.
  await op(boss, { action: "emit", to: ["room-r"], event: "missed-room", args: ["m1"] });
  await op(boss, { action: "emit", event: "missed-binary", args: ["m2", { k: "v" }], binary: [1000] });
  await op(boss, { action: "emit", to: [id], event: "missed-direct", args: ["m3"] });
  await op(boss, { action: "emit", to: ["other-room"], event: "not-for-you", args: [] });
  s.connect();
  await waitFor(s, "connect", () => true, 2);
  assert.equal(s.recovered, true);
  assert.equal(s.id, id);
  assert.equal((await waitFor(s, "missed-room"))[0], "m1");
  const bin = await waitFor(s, "missed-binary");
  assert.deepEqual(plain(bin.slice(0, 3)), ["m2", { k: "v" }, pattern(1000)]);
  assert.equal((await waitFor(s, "missed-direct"))[0], "m3");
  assert.equal(events(s, "not-for-you").length, 0);
  const names = s.log.map((e) => e.event);
  assert.ok(names.indexOf("missed-room") < names.indexOf("missed-binary"), "missed packets out of order");
  const who = await s.emitWithAck("whoami");
  assert.equal(who.recovered, true);
  assert.deepEqual(who.rooms, [id, "room-r"]);
  assert.deepEqual(who.data, { by: "middleware" });
  assert.equal(await s.emitWithAck("mw-runs", { id }), 1, "middlewares ran for a recovered socket");
  // Lost again before any new packet: the offset is the last missed
  // packet's, so only what follows it is replayed.
  await lose(s, id, 2);
  await op(boss, { action: "emit", to: ["room-r"], event: "missed-again", args: [] });
  s.connect();
  await waitFor(s, "connect", () => true, 3);
  assert.equal(s.recovered, true, "not recovered from the offset of a replayed packet");
  assert.equal(s.id, id);
  await waitFor(s, "missed-again");
  await op(boss, { action: "emit", to: ["room-r"], event: "after", args: [] });
  await waitFor(s, "after");
  for (const ev of ["missed-room", "missed-binary", "missed-direct", "missed-again"]) {
    assert.equal(events(s, ev).length, 1, `${ev} replayed again`);
  }
  // A client that left on purpose starts afresh.
  s.disconnect();
  assert.equal(await reasonOf(id, 3), "client namespace disconnect");
  s.connect();
  await waitFor(s, "connect", () => true, 4);
  assert.equal(s.recovered, false);
  assert.notEqual(s.id, id);
});

scenario("recovery-runs-middlewares", async () => {
  const url = await server({ recovery: true, runMiddlewares: true });
  const s = connect(url);
  await connected(s);
  const id = s.id;
  // A client recovers from the offset of the last packet it got.
  await op(s, { action: "emit", event: "hello", args: [] });
  await waitFor(s, "hello");
  await lose(s, id, 1);
  s.connect();
  await waitFor(s, "connect", () => true, 2);
  assert.equal(s.recovered, true);
  assert.equal(s.id, id);
  assert.equal(await s.emitWithAck("mw-runs", { id }), 2);
});

async function run() {
  await new Promise((resolve, reject) => {
    ctl.once("connect", resolve);
    ctl.once("connect_error", reject);
  });
  let passed = 0;
  let total = 0;
  for (const m of Object.keys(MODES)) {
    mode = m;
    transports = MODES[m];
    for (const sc of scenarios) {
      const name = `${m}/${sc.name}`;
      if (only && !name.includes(only)) continue;
      total++;
      opened = [];
      servers = [];
      const start = Date.now();
      current = "start";
      try {
        const url = await server({});
        const info = await Promise.race([
          sc.fn(url),
          sleep(20000).then(() => {
            throw new Error(`scenario timed out after 20 s at step: ${current}`);
          }),
        ]);
        passed++;
        console.log(`PASS ${name} (${Date.now() - start} ms)${info ? " " + info : ""}`);
      } catch (err) {
        console.log(`FAIL ${name}: ${(err && err.stack) || err}`.replaceAll("\n", "\n    "));
      }
      for (const s of opened) s.disconnect();
      for (const url of servers) await call("drop-server", { url }).catch(() => {});
    }
  }
  console.log(`DONE ${passed}/${total}`);
  ctl.disconnect();
}

run().then(
  () => process.exit(0),
  (err) => {
    console.log(`FAIL setup: ${(err && err.stack) || err}`);
    process.exit(1);
  },
);
