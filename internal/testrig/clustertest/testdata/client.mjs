// client.mjs runs socket.io-client 4.8.4 clients for the Go tests, driven
// over HTTP like peer.mjs: the reference client, whose connection state
// recovery (pid and last offset sent on reconnection) the tests check
// against Parley and Node.js servers.
//
// On start it prints {"control": C}; POST / with {"op": ..., ...} answers
// {"result": ...} or {"error": "..."}. It exits when stdin closes.
//
// Ops: connect {name, url, auth} (reconnects by itself, quickly, over
// WebSocket only) → {id}; state {name} → {id, connected, recovered};
// events {name} → [{event, args}] (every event, plus connect and
// disconnect with their reason); find {name, event, tag} → the first
// {event, args} of that event whose first argument is tag, or null; emit {name, event, args} and, with an ack,
// emitWithAck {name, event, args, timeout} → {error, args}; close {name}.
// A client answers every event that asks for an ack with one argument: the
// list of the event's arguments.
//
// Binary crosses the JSON control channel as {"$bin": base64}; to emit,
// {"$bin": base64, "as": "arraybuffer" | "uint8array" | "view"} sends it as
// an ArrayBuffer, a Uint8Array, or a Uint8Array viewing the middle of a
// larger buffer (a Buffer otherwise).

import { createServer } from "node:http";
import { io } from "socket.io-client";

const clients = new Map();

function toWire(v) {
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("base64") };
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { $bin: Buffer.from(v).toString("base64") };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  return v;
}

function fromWire(v) {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    if ("$bin" in v) return binary(Buffer.from(v.$bin, "base64"), v.as);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromWire(x)]));
  }
  return v;
}

// binary makes bytes the JavaScript binary type a test asks for.
function binary(buf, as) {
  switch (as) {
    case "arraybuffer":
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
    case "uint8array":
      return new Uint8Array(buf);
    case "view": {
      const larger = new Uint8Array(buf.length + 7);
      larger.set(buf, 3);
      return new Uint8Array(larger.buffer, 3, buf.length);
    }
  }
  return buf;
}

const ops = {
  connect(cmd) {
    const socket = io(cmd.url, {
      transports: ["websocket"],
      auth: cmd.auth || {},
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
    });
    const c = { socket, events: [] };
    clients.set(cmd.name, c);
    socket.on("connect", () => c.events.push({ event: "connect", args: [socket.id, socket.recovered] }));
    socket.on("disconnect", (reason) => c.events.push({ event: "disconnect", args: [reason] }));
    socket.on("connect_error", (err) => c.events.push({ event: "connect_error", args: [String(err.message || err)] }));
    socket.onAny((event, ...args) => {
      if (typeof args[args.length - 1] === "function") {
        const ack = args.pop();
        ack(args);
      }
      c.events.push({ event, args: toWire(args) });
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("connect timeout")), 10000);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve({ id: socket.id });
      });
    });
  },
  state(cmd) {
    const s = clients.get(cmd.name).socket;
    return { id: s.id || "", connected: s.connected, recovered: !!s.recovered };
  },
  events(cmd) {
    return clients.get(cmd.name).events;
  },
  find(cmd) {
    return clients.get(cmd.name).events.find((e) => e.event === cmd.event && e.args[0] === cmd.tag) || null;
  },
  emit(cmd) {
    clients.get(cmd.name).socket.emit(cmd.event, ...fromWire(cmd.args || []));
  },
  emitWithAck(cmd) {
    const socket = clients.get(cmd.name).socket;
    return new Promise((resolve) => {
      socket.timeout(cmd.timeout || 10000).emit(cmd.event, ...fromWire(cmd.args || []), (err, ...args) => {
        resolve({ error: err ? String(err.message || err) : null, args: toWire(args) });
      });
    });
  },
  close(cmd) {
    clients.get(cmd.name).socket.close();
    clients.delete(cmd.name);
  },
};

const control = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", async () => {
    let reply;
    try {
      const cmd = JSON.parse(body);
      const op = ops[cmd.op];
      if (!op) throw new Error(`unknown op ${cmd.op}`);
      if (cmd.op !== "connect" && !clients.has(cmd.name)) throw new Error(`no client ${cmd.name}`);
      const result = await op(cmd);
      reply = { result: result === undefined ? null : result };
    } catch (err) {
      reply = { error: String((err && err.message) || err) };
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(reply));
  });
});

await new Promise((r) => control.listen(0, "127.0.0.1", r));
process.stdout.write(JSON.stringify({ control: control.address().port }) + "\n");
process.stdin.resume();
process.stdin.on("end", () => {
  for (const c of clients.values()) c.socket.close();
  control.close();
  process.exit(0);
});
