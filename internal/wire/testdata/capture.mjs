// capture.mjs records the bytes real Node.js peers publish on Redis:
// @socket.io/redis-adapter 8.3.0 (node "N", socket.io 4.8.4) sending every
// kind of message and answering requests another node ("OTHER1", played by
// this script) sends it, and @socket.io/redis-emitter 5.1.0.
//
// Usage: REDIS_URL=redis://... node capture.mjs
// Output (stdout): {"versions": {...}, "messages": [{"step", "channel",
// "hex"}, ...]} with every message published during each step, in order,
// as a PSUBSCRIBE * connection received it.
//
// Objects in event arguments are written with their keys in sorted order:
// Go maps have no order, and Parley writes them sorted, so sorted keys make
// the bytes comparable.

import { createServer } from "node:http";
import { createRequire } from "node:module";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createAdapter } from "@socket.io/redis-adapter";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const require = createRequire(import.meta.url);
const want = {
  "@socket.io/redis-adapter": "8.3.0",
  "@socket.io/redis-emitter": "5.1.0",
  "socket.io": "4.8.4",
  "notepack.io": "3.0.1",
};
const versions = {};
for (const [pkg, version] of Object.entries(want)) {
  const got = require(`${pkg}/package.json`).version;
  if (got !== version) throw new Error(`capture.mjs: ${pkg} is ${got}, the goldens need ${version}`);
  versions[pkg] = got;
}

const url = process.env.REDIS_URL;
const pub = createClient({ url });
const sub = pub.duplicate();
const raw = pub.duplicate(); // this script's own publishes (as OTHER1)
const spy = pub.duplicate(); // PSUBSCRIBE *
const counter = pub.duplicate(); // a second request-channel subscriber
const emitterClient = pub.duplicate();
const clients = [pub, sub, raw, spy, counter, emitterClient];
for (const c of clients) c.on("error", (err) => console.error(`redis: ${err}`));
await Promise.all(clients.map((c) => c.connect()));

const messages = [];
let step = "setup";
await spy.pSubscribe("*", (message, channel) => {
  messages.push({ step, channel: channel.toString(), hex: message.toString("hex") });
}, true);
// NUMSUB of the request channel must be 2, or the adapter does not publish
// fetchSockets, allRooms and serverSideEmit-with-ack requests at all.
await counter.subscribe("socket.io-request#/#", () => {});

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { requestsTimeout: 200 }) });
io.of("/admin");
io.on("connection", (socket) => {
  socket.data = { name: socket.handshake.auth.name, node: "N" };
  for (const r of socket.handshake.auth.rooms || []) socket.join(r);
});
io.on("sse-ack", (arg, ack) => ack({ arg, node: "N" }));
await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));

const client = connect(`http://127.0.0.1:${httpServer.address().port}`, {
  transports: ["websocket"],
  auth: { name: "nora", rooms: ["r1"] },
});
client.on("ask", (arg, ack) => ack({ answer: arg, from: "nora" }));
await new Promise((r) => client.on("connect", r));
const sid = client.id;
const emitter = new Emitter(emitterClient);

// run performs a step and waits until n messages were published during it.
async function run(name, n, fn) {
  step = name;
  const before = messages.length;
  fn();
  const deadline = Date.now() + 5000;
  while (messages.filter((m) => m.step === name).length < n) {
    if (Date.now() > deadline) throw new Error(`step ${name}: ${messages.length - before} of ${n} messages`);
    await new Promise((r) => setTimeout(r, 5));
  }
  // Anything late would be attributed to the next step: give it a moment.
  await new Promise((r) => setTimeout(r, 30));
}

const ignore = () => {};
const date = new Date(Date.UTC(2023, 10, 14, 22, 13, 20, 123));

// The adapter sending.
await run("broadcast-all", 1, () => io.emit("ev", "hello", 42, { n: 1.5 }));
await run("broadcast-values", 1, () =>
  io.emit("vals", Buffer.from([1, 2, 3, 255]), date, -1, -200, 2 ** 40, 1.25, null, true, "ünï <&>", { a: [1, { x: "y" }], b: {} }, []),
);
await run("broadcast-room", 1, () => io.to("r1").emit("ev-r1", "room"));
await run("broadcast-rooms-except", 1, () => io.to(["r1", "r2"]).except("r3").emit("ev-multi", 1));
await run("broadcast-flags", 1, () => io.to("r1").volatile.compress(false).emit("ev-flags"));
await run("broadcast-namespace", 1, () => io.of("/admin").to("a1").emit("adm", { k: "v" }));
await run("broadcast-ack", 1, () => io.timeout(4000).emit("ask", "q1", ignore));
await run("sockets-join", 1, () => io.in("r1").socketsJoin(["r2", "r3"]));
await run("sockets-leave", 1, () => io.in("r1").except("r9").socketsLeave("r2"));
await run("disconnect-sockets", 1, () => io.in("nobody").disconnectSockets(true));
await run("fetch-sockets", 1, () => io.in("r1").fetchSockets().catch(ignore));
await run("server-side-emit", 1, () => io.serverSideEmit("sse", "a", 1, { z: null }));
await run("server-side-emit-ack", 1, () => io.serverSideEmit("sse-ack", { q: 1 }, ignore));
await run("all-rooms", 1, () => io.of("/").adapter.allRooms().catch(ignore));

// The adapter answering requests of node OTHER1 (request + response(s)).
const request = (body) => raw.publish("socket.io-request#/#", typeof body === "string" ? body : JSON.stringify(body));
await run("answer-fetch", 2, () => request({ uid: "OTHER1", requestId: "REQ001", type: 5, opts: { rooms: ["r1"], except: [] } }));
await run("answer-all-rooms", 2, () => request({ uid: "OTHER1", requestId: "REQ002", type: 1 }));
await run("answer-sse-ack", 2, () => request({ uid: "OTHER1", requestId: "REQ003", type: 6, data: ["sse-ack", "x"] }));
await run("answer-broadcast-ack", 3, () => {
  const msgpack = require("notepack.io");
  raw.publish(
    "socket.io-request#/#",
    msgpack.encode({
      uid: "OTHER1",
      requestId: "REQ004",
      type: 7,
      packet: { type: 2, data: ["ask", "q2"], nsp: "/" },
      opts: { rooms: ["r1"], except: [], flags: { timeout: 4000 } },
    }),
  );
});
await run("answer-legacy-sockets", 2, () => request({ uid: "OTHER1", requestId: "REQ005", type: 0, rooms: ["r1"] }));
await run("answer-legacy-join", 2, () => request({ uid: "OTHER1", requestId: "REQ006", type: 2, sid, room: "legacy" }));

// The emitter.
await run("emitter-all", 1, () => emitter.emit("ev", "x", { n: 1 }));
await run("emitter-room-flags", 1, () => emitter.to("r1").except("r2").volatile.compress(true).emit("ev-room", 2));
await run("emitter-namespace", 1, () => emitter.of("admin").to(["a1", "a2"]).emit("adm", date));
await run("emitter-join", 1, () => emitter.in("r1").socketsJoin("r9"));
await run("emitter-leave", 1, () => emitter.except("r1").socketsLeave(["r9", "r8"]));
await run("emitter-disconnect", 1, () => emitter.in("nobody").disconnectSockets(true));
await run("emitter-server-side-emit", 1, () => emitter.serverSideEmit("sse", 1, "two"));

process.stdout.write(JSON.stringify({ versions, sid, messages }) + "\n");
client.close();
io.close();
await Promise.allSettled(clients.map((c) => c.quit()));
process.exit(0);
