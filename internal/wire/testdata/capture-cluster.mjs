// capture-cluster.mjs records what real Node.js peers write to Redis in the
// ClusterAdapter protocol: a socket.io 4.8.4 node "N" with
// @socket.io/redis-adapter 8.3.0's createShardedAdapter (SPUBLISH, dynamic
// mode), and a node "S" with @socket.io/redis-streams-adapter 0.3.1 (XADD
// entries, Pub/Sub requests and responses, a persisted session), each sending
// every kind of message and answering the requests of a node "OTHER1"
// played by this script.
//
// Usage: REDIS_URL=redis://... node capture-cluster.mjs   (Redis >= 7)
// Output (stdout): {"versions", "nsid", "ssid", "messages": [{"step",
// "channel", "hex"}], "entries": [{"step", "id", "fields"}], "session":
// {...}} with the shard channel and Pub/Sub messages of each step, the
// stream entries added during it, and the session S persisted.
//
// Objects in event arguments have their keys in sorted order, which is how
// Go writes maps, so the bytes are comparable.

import { createServer } from "node:http";
import { createRequire } from "node:module";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { encode as msgpack } from "@msgpack/msgpack";
import { createClient } from "redis";

const require = createRequire(import.meta.url);
const want = {
  "@socket.io/redis-adapter": "8.3.0",
  "@socket.io/redis-streams-adapter": "0.3.1",
  "socket.io": "4.8.4",
  "socket.io-adapter": "2.5.8",
  "@msgpack/msgpack": "2.8.0",
};
const versions = {};
for (const [pkg, version] of Object.entries(want)) {
  const got = require(`${pkg}/package.json`).version;
  if (got !== version) throw new Error(`capture-cluster.mjs: ${pkg} is ${got}, the goldens need ${version}`);
  versions[pkg] = got;
}

const url = process.env.REDIS_URL;
const pub = createClient({ url });
const sub = pub.duplicate();
const streamsClient = pub.duplicate();
const raw = pub.duplicate(); // OTHER1's publishes and the stream reads
const spy = pub.duplicate(); // shard channels and Pub/Sub channels
const clients = [pub, sub, streamsClient, raw, spy];
for (const c of clients) c.on("error", (err) => console.error(`redis: ${err}`));
await Promise.all(clients.map((c) => c.connect()));

const messages = [];
let step = "setup";
const record = (message, channel) => messages.push({ step, channel: channel.toString(), hex: message.toString("hex") });
// The spy's subscription to the main channels also makes both adapters
// count two servers, so they publish their requests.
for (const ch of ["socket.io#/#", "socket.io#/#r1#", "socket.io#/admin#", "socket.io#/admin#a1#", "socket.io#/#OTHER1#", "socket.io#/#abcdefghijklmnopqrst#"]) {
  await spy.sSubscribe(ch, record, true);
}
const spyPubSub = spy.duplicate();
spyPubSub.on("error", (err) => console.error(`redis: ${err}`));
await spyPubSub.connect();
await spyPubSub.subscribe(["socket.io#/#", "socket.io#/#OTHER1#"], record, true);

const date = new Date(Date.UTC(2023, 10, 14, 22, 13, 20, 123));
const wholeDate = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 0));

async function startNode(name, adapter, opts = {}) {
  const httpServer = createServer();
  const io = new Server(httpServer, { adapter, ...opts });
  io.of("/admin");
  io.on("connection", (socket) => {
    socket.data = { name: socket.handshake.auth.name, node: name };
    for (const r of socket.handshake.auth.rooms || []) socket.join(r);
  });
  io.on("sse-ack", (arg, ack) => ack({ arg, node: name }));
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  return { io, port: httpServer.address().port };
}

function dial(port, name) {
  const c = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"], auth: { name, rooms: ["r1"] }, reconnection: false });
  c.on("ask", (arg, ack) => ack({ answer: arg, from: name }));
  c.on("askbin", (arg, ack) => ack(Buffer.from([7, 8, 9])));
  return new Promise((resolve) => c.on("connect", () => resolve(c)));
}

const N = await startNode("N", createShardedAdapter(pub, sub, { subscriptionMode: "dynamic" }));
const S = await startNode("S", createStreamsAdapter(streamsClient), {
  connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true },
});
const nora = await dial(N.port, "nora");
const stella = await dial(S.port, "stella");

// Stream entries are read after each step from the last one seen.
const entries = [];
let lastId = "0-0";
async function readEntries() {
  const got = await raw.xRange("socket.io", "(" + lastId, "+");
  for (const e of got) {
    entries.push({ step, id: e.id, fields: e.message });
    lastId = e.id;
  }
}
await new Promise((r) => setTimeout(r, 100));
await readEntries();
entries.length = 0;

// run performs a step and waits until it published pubs messages and added
// xadds stream entries.
async function run(name, pubs, xadds, fn) {
  step = name;
  fn();
  const deadline = Date.now() + 5000;
  for (;;) {
    await readEntries();
    const p = messages.filter((m) => m.step === name).length;
    const x = entries.filter((e) => e.step === name).length;
    if (p >= pubs && x >= xadds) break;
    if (Date.now() > deadline) throw new Error(`step ${name}: ${p}/${pubs} messages, ${x}/${xadds} entries`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 30));
  await readEntries();
}

const ignore = () => {};
const values = [Buffer.from([1, 2, 3, 255]), date, -1, -200, 2 ** 40, 1.25, null, true, "ünï <&>", { a: [1, { x: "y" }], b: {} }, []];

// The sharded adapter sending.
const n = N.io;
await run("sh-broadcast-all", 1, 0, () => n.emit("ev", "hello", 42, { n: 1.5 }));
await run("sh-broadcast-values", 1, 0, () => n.emit("vals", ...values));
await run("sh-broadcast-dates", 1, 0, () => n.emit("dates", date, wholeDate, { at: wholeDate }));
await run("sh-broadcast-room", 1, 0, () => n.to("r1").emit("ev-r1", "room"));
await run("sh-broadcast-sid-room", 1, 0, () => n.to("abcdefghijklmnopqrst").emit("ev-sid", 1));
await run("sh-broadcast-rooms-except", 1, 0, () => n.to(["r1", "r2"]).except("r3").emit("ev-multi", 1));
await run("sh-broadcast-flags", 1, 0, () => n.to("r1").volatile.compress(false).emit("ev-flags"));
await run("sh-broadcast-namespace", 1, 0, () => n.of("/admin").to("a1").emit("adm", { k: "v" }));
await run("sh-broadcast-ack", 1, 0, () => n.timeout(4000).emit("ask", "q1", ignore));
await run("sh-sockets-join", 1, 0, () => n.in("r1").socketsJoin(["r2", "r3"]));
await run("sh-sockets-leave", 1, 0, () => n.in("r1").except("r9").socketsLeave("r2"));
await run("sh-disconnect-sockets", 1, 0, () => n.in("nobody").disconnectSockets(true));
await run("sh-fetch-sockets", 1, 0, () => n.in("r1").fetchSockets().catch(ignore));
await run("sh-server-side-emit", 1, 0, () => n.serverSideEmit("sse", "a", 1, { z: null }));
await run("sh-server-side-emit-ack", 1, 0, () => n.serverSideEmit("sse-ack", { q: 1 }, ignore));

// The sharded adapter answering OTHER1's requests.
const shard = (body) => raw.sPublish("socket.io#/#", JSON.stringify({ ...body, uid: "OTHER1", nsp: "/" }));
const opts = { rooms: ["r1"], except: [], flags: {} };
await run("sh-answer-fetch", 2, 0, () => shard({ type: 7, data: { opts, requestId: "REQ001" } }));
await run("sh-answer-sse-ack", 2, 0, () => shard({ type: 9, data: { requestId: "REQ003", packet: ["sse-ack", "x"] } }));
await run("sh-answer-broadcast-ack", 3, 0, () =>
  shard({ type: 3, data: { packet: { type: 2, data: ["ask", "q2"] }, requestId: "REQ004", opts: { ...opts, flags: { timeout: 4000 } } } }),
);
await run("sh-answer-binary-ack", 3, 0, () =>
  shard({ type: 3, data: { packet: { type: 2, data: ["askbin", "q3"] }, requestId: "REQ005", opts: { ...opts, flags: { timeout: 4000 } } } }),
);

// The streams adapter sending.
const s = S.io;
await run("st-broadcast-all", 0, 1, () => s.emit("ev", "hello", 42, { n: 1.5 }));
await run("st-broadcast-values", 0, 1, () => s.emit("vals", ...values));
await run("st-broadcast-dates", 0, 1, () => s.emit("dates", date, wholeDate));
await run("st-broadcast-room-flags", 0, 1, () => s.to("r1").except("r2").volatile.compress(false).emit("ev-flags", "x"));
await run("st-sockets-join", 0, 1, () => s.in("r1").socketsJoin(["r2", "r3"]));
await run("st-sockets-leave", 0, 1, () => s.in("r1").except("r9").socketsLeave("r2"));
await run("st-disconnect-sockets", 0, 1, () => s.in("nobody").disconnectSockets(true));
await run("st-broadcast-ack", 1, 0, () => s.timeout(4000).emit("ask", "q1", ignore));
await run("st-fetch-sockets", 1, 0, () => s.in("r1").fetchSockets().catch(ignore));
await run("st-server-side-emit", 1, 0, () => s.serverSideEmit("sse", "a", 1, { z: null }));
await run("st-server-side-emit-ack", 1, 0, () => s.serverSideEmit("sse-ack", { q: 1 }, ignore));

// The streams adapter answering OTHER1's requests (msgpack on Pub/Sub).
const pubsub = (body) => raw.publish("socket.io#/#", Buffer.from(msgpack({ ...body, uid: "OTHER1", nsp: "/" })));
await run("st-answer-fetch", 2, 0, () => pubsub({ type: 7, data: { opts, requestId: "REQ011" } }));
await run("st-answer-sse-ack", 2, 0, () => pubsub({ type: 9, data: { requestId: "REQ013", packet: ["sse-ack", "x"] } }));
await run("st-answer-broadcast-ack", 3, 0, () =>
  pubsub({ type: 3, data: { packet: { type: 2, data: ["ask", "q2"] }, requestId: "REQ014", opts: { ...opts, flags: { timeout: 4000 } } } }),
);

// A recoverable disconnect: S persists stella's session.
step = "st-session";
const ssid = stella.id;
const pid = stella._pid;
stella.io.engine.close();
let session = null;
for (const deadline = Date.now() + 5000; !session; ) {
  const value = await raw.get("sio:session:" + pid);
  if (value) session = { key: "sio:session:" + pid, value, pid, sid: ssid };
  else if (Date.now() > deadline) throw new Error("no persisted session");
  else await new Promise((r) => setTimeout(r, 10));
}
session.ttl = await raw.pTTL(session.key);
await readEntries();

process.stdout.write(JSON.stringify({ versions, nsid: nora.id, ssid, messages, entries, session }) + "\n");
nora.close();
N.io.close();
S.io.close();
await Promise.allSettled([...clients, spyPubSub].map((c) => c.quit()));
process.exit(0);
