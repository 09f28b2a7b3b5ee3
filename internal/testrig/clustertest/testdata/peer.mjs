// peer.mjs runs a Node.js socket.io 4.8 server as a member of a Parley test
// cluster, with the adapter ADAPTER names: "classic" (@socket.io/redis-adapter
// 8.3 createAdapter, plus an @socket.io/redis-emitter 5.1), "sharded" (its
// createShardedAdapter) or "streams" (@socket.io/redis-streams-adapter
// 0.3.1), on node-redis 5 clients, all driven by the Go tests over HTTP.
//
// Environment: REDIS_URL (required; with REDIS_CLUSTER=1 the seed of a Redis
// Cluster), NAME (node name), NSPS (extra namespaces, comma-separated),
// REQUESTS_TIMEOUT (ms, classic), ADAPTER, SUBSCRIPTION_MODE (sharded),
// RECOVERY=1 (connection state recovery, 2 min, middlewares skipped).
//
// On start it prints one JSON line {"port": P, "control": C}: P serves
// socket.io, C takes POST / with {"op": ..., ...} and answers
// {"result": ...} or {"error": "..."}. It exits when stdin closes, so it
// never outlives the test that started it.
//
// Every namespace behaves like the Go test nodes: a socket gets
// {name, node} as data and joins its auth "rooms"; server-side events named
// "sse" are recorded and their acks answered with {node, arg}, except when
// arg is "mute-<NAME>"; a socket's "relay" events are relayed as
// clustertest.Relay describes (server-side "relay-sse" events answered with
// {node, args}).
//
// Binary and dates cross the JSON control channel as {"$bin": base64} and
// {"$date": ms}.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient, createCluster } from "redis";

const NAME = process.env.NAME || "node";
const ADAPTER = process.env.ADAPTER || "classic";
const nsps = ["/", ...(process.env.NSPS ? process.env.NSPS.split(",") : [])];

const pub = process.env.REDIS_CLUSTER
  ? createCluster({ rootNodes: [{ url: process.env.REDIS_URL }] })
  : createClient({ url: process.env.REDIS_URL });
const sub = pub.duplicate();
const emitterClient = pub.duplicate();
const clients = [pub, sub, emitterClient];
for (const c of clients) c.on("error", (err) => console.error(`${NAME}: redis: ${err}`));
await Promise.all(clients.map((c) => c.connect()));

let adapter;
if (ADAPTER === "sharded") {
  adapter = createShardedAdapter(pub, sub, { subscriptionMode: process.env.SUBSCRIPTION_MODE || "dynamic" });
} else if (ADAPTER === "streams") {
  adapter = createStreamsAdapter(pub);
} else {
  adapter = createAdapter(pub, sub, { requestsTimeout: Number(process.env.REQUESTS_TIMEOUT || 5000) });
}
const options = { adapter, transports: ["websocket"] };
if (process.env.RECOVERY) {
  options.connectionStateRecovery = { maxDisconnectionDuration: 120000, skipMiddlewares: true };
}
const httpServer = createServer();
const io = new Server(httpServer, options);
const emitter = new Emitter(emitterClient);

const sse = [];
for (const name of nsps) {
  const nsp = io.of(name);
  nsp.on("connection", (socket) => {
    const auth = socket.handshake.auth || {};
    socket.data = { name: auth.name, node: NAME };
    for (const r of auth.rooms || []) socket.join(r);
    socket.on("relay", (spec, ...args) => relay(nsp, socket, spec, args));
  });
  nsp.on("relay-sse", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop()({ node: NAME, args });
  });
  nsp.on("sse", (...args) => {
    if (typeof args[args.length - 1] === "function") {
      const ack = args.pop();
      if (args[0] !== `mute-${NAME}`) ack({ node: NAME, arg: args[0] });
    }
    sse.push({ nsp: name, args: toWire(args) });
  });
}

// relay passes on what a client sent, as an application would (see
// clustertest.Relay).
function relay(nsp, socket, spec, args) {
  const reply = typeof args[args.length - 1] === "function" ? args.pop() : () => {};
  const result = (err, responses) => {
    for (const r of responses || []) socket.emit("relay-response", spec.id, r);
    reply({ error: err ? String(err.message || err) : null, count: (responses || []).length });
  };
  switch (spec.how) {
    case "all":
      nsp.emit(spec.event, ...args);
      return reply({ ok: true });
    case "room":
      nsp.to(spec.room).emit(spec.event, ...args);
      return reply({ ok: true });
    case "ack":
      return nsp.to(spec.room).timeout(spec.timeout).emit(spec.event, ...args, result);
    case "sse":
      return nsp.serverSideEmit("relay-sse", ...args, result);
  }
  reply({ error: `unknown relay ${spec.how}` });
}

// fromWire turns the JSON control form into JavaScript values.
function fromWire(v) {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    if ("$bin" in v) return Buffer.from(v.$bin, "base64");
    if ("$date" in v) return new Date(v.$date);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromWire(x)]));
  }
  return v;
}

// toWire is the reverse of fromWire.
function toWire(v) {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { $bin: Buffer.from(v).toString("base64") };
  if (v instanceof Date) return { $date: v.getTime() };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  return v;
}

// operator builds the broadcast operator a command describes.
function operator(base, cmd) {
  let op = base;
  if (cmd.rooms && cmd.rooms.length) op = op.to(cmd.rooms);
  if (cmd.except && cmd.except.length) op = op.except(cmd.except);
  if (cmd.volatile) op = op.volatile;
  if (cmd.compress !== undefined) op = op.compress(cmd.compress);
  if (cmd.local) op = op.local;
  return op;
}

function describe(s) {
  return { id: s.id, handshake: toWire(s.handshake), rooms: [...s.rooms], data: s.data };
}

async function remoteSocket(cmd) {
  const sockets = await io.of(cmd.nsp).in(cmd.id).fetchSockets();
  const s = sockets.find((x) => x.id === cmd.id);
  if (!s) throw new Error(`no socket ${cmd.id}`);
  return s;
}

const ops = {
  async emit(cmd) {
    operator(io.of(cmd.nsp), cmd).emit(cmd.event, ...fromWire(cmd.args || []));
  },
  emitWithAck(cmd) {
    return new Promise((resolve) => {
      operator(io.of(cmd.nsp), cmd)
        .timeout(cmd.timeout)
        .emit(cmd.event, ...fromWire(cmd.args || []), (err, responses) => {
          resolve({ error: err ? String(err.message || err) : null, responses: toWire(responses || []) });
        });
    });
  },
  async fetchSockets(cmd) {
    const sockets = await operator(io.of(cmd.nsp), cmd).fetchSockets();
    return sockets.map(describe);
  },
  async remoteEmit(cmd) {
    (await remoteSocket(cmd)).emit(cmd.event, ...fromWire(cmd.args || []));
  },
  async remoteJoin(cmd) {
    (await remoteSocket(cmd)).join(cmd.room);
  },
  async remoteLeave(cmd) {
    (await remoteSocket(cmd)).leave(cmd.room);
  },
  async remoteDisconnect(cmd) {
    (await remoteSocket(cmd)).disconnect(cmd.close);
  },
  async socketsJoin(cmd) {
    operator(io.of(cmd.nsp), cmd).socketsJoin(cmd.join);
  },
  async socketsLeave(cmd) {
    operator(io.of(cmd.nsp), cmd).socketsLeave(cmd.leave);
  },
  async disconnectSockets(cmd) {
    operator(io.of(cmd.nsp), cmd).disconnectSockets(cmd.close);
  },
  serverSideEmit(cmd) {
    const args = fromWire(cmd.args || []);
    if (!cmd.ack) {
      io.of(cmd.nsp).serverSideEmit(cmd.event, ...args);
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      io.of(cmd.nsp).serverSideEmit(cmd.event, ...args, (err, responses) => {
        resolve({ error: err ? String(err.message || err) : null, responses: toWire(responses || []) });
      });
    });
  },
  async serverCount(cmd) {
    return await io.of(cmd.nsp).adapter.serverCount();
  },
  async allRooms(cmd) {
    return [...(await io.of(cmd.nsp).adapter.allRooms())];
  },
  async sse(cmd) {
    return sse.filter((e) => e.nsp === cmd.nsp).map((e) => e.args);
  },
  async localSockets(cmd) {
    return [...io.of(cmd.nsp).sockets.values()].map((s) => ({ ...describe(s), recovered: s.recovered }));
  },
  async emitterEmit(cmd) {
    operator(emitter.of(cmd.nsp), cmd).emit(cmd.event, ...fromWire(cmd.args || []));
  },
  async emitterJoin(cmd) {
    operator(emitter.of(cmd.nsp), cmd).socketsJoin(cmd.join);
  },
  async emitterLeave(cmd) {
    operator(emitter.of(cmd.nsp), cmd).socketsLeave(cmd.leave);
  },
  async emitterDisconnect(cmd) {
    operator(emitter.of(cmd.nsp), cmd).disconnectSockets(cmd.close);
  },
  async emitterServerSideEmit(cmd) {
    emitter.of(cmd.nsp).serverSideEmit(cmd.event, ...fromWire(cmd.args || []));
  },
};

const control = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", async () => {
    let reply;
    try {
      const cmd = JSON.parse(body);
      cmd.nsp = cmd.nsp || "/";
      const op = ops[cmd.op];
      if (!op) throw new Error(`unknown op ${cmd.op}`);
      const result = await op(cmd);
      reply = { result: result === undefined ? null : result };
    } catch (err) {
      reply = { error: String((err && err.message) || err) };
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(reply));
  });
});

await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
await new Promise((r) => control.listen(0, "127.0.0.1", r));
process.stdout.write(JSON.stringify({ port: httpServer.address().port, control: control.address().port }) + "\n");

process.stdin.resume();
process.stdin.on("end", async () => {
  io.close();
  control.close();
  await Promise.allSettled(clients.map((c) => c.quit()));
  process.exit(0);
});
