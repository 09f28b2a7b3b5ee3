// instrumented.mjs is the test application of admin_test.go on Node's
// socket.io 4.8 with @socket.io/admin-ui 0.5.1's instrument: the reference
// the scenarios of admin-client.mjs are checked against, so that what they
// expect of Parley is what instrument does. It prints {"port": n} once
// listening, and exits when its stdin closes.
//
// With REDIS_URL set, the server is a member of a cluster on that Redis,
// with the adapter ADAPTER names: "classic" (@socket.io/redis-adapter 8.3
// createAdapter), "sharded" (its createShardedAdapter, dynamic mode) or
// "streams" (@socket.io/redis-streams-adapter 0.3.1), on node-redis clients:
// the Node.js member of the cluster tests of cluster_test.go.
//
// usage: node instrumented.mjs <JSON options of instrument>
import { createServer } from "node:http";
import { Server } from "socket.io";
import { instrument } from "@socket.io/admin-ui";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";

const options = JSON.parse(process.argv[2] || "{}");
const redisClients = [];

// clusterAdapter connects to REDIS_URL and returns the adapter ADAPTER names.
async function clusterAdapter() {
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  redisClients.push(pub, sub);
  for (const c of redisClients) c.on("error", (err) => console.error(`redis: ${err}`));
  await Promise.all(redisClients.map((c) => c.connect()));
  switch (process.env.ADAPTER || "classic") {
    case "sharded":
      return createShardedAdapter(pub, sub);
    case "streams":
      return createStreamsAdapter(pub);
    case "classic":
      return createAdapter(pub, sub);
  }
  throw new Error(`unknown adapter ${process.env.ADAPTER}`);
}

const httpServer = createServer();
const io = new Server(httpServer, process.env.REDIS_URL ? { adapter: await clusterAdapter() } : {});

function app(socket) {
  socket.on("join", (room, cb) => { socket.join(room); cb(); });
  socket.on("leave", (room, cb) => { socket.leave(room); cb(); });
  // socket.data is instrument's proxy: setting its fields is what it sees.
  socket.on("set-data", (value, cb) => { Object.assign(socket.data, value); cb(); });
  socket.on("rooms", (cb) => cb([...socket.rooms]));
  socket.on("hello", (...args) => {
    const cb = args.pop();
    socket.emit("hello-back", ...args);
    cb("123");
  });
}
io.on("connection", app);
io.of(/^\/dynamic-\d+$/).on("connection", app);
instrument(io, options);
io.of("/admin").on("connection", (s) => s.on("barrier", (cb) => cb()));

httpServer.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: httpServer.address().port })));
process.stdin.on("end", async () => {
  io.close();
  await Promise.allSettled(redisClients.map((c) => c.quit()));
  process.exit(0);
});
process.stdin.resume();
