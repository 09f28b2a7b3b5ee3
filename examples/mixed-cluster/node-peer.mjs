// node-peer.mjs joins a Parley cluster as a Node.js socket.io 4.8 server on the
// classic @socket.io/redis-adapter 8.3, to try a mixed cluster by hand (see
// the README, "A mixed Parley and Node.js cluster"). Run it from the
// repository's root after `npm ci`, which installs the packages it imports:
//
//	REDIS_URL=redis://127.0.0.1:6379 PORT=3002 node examples/mixed-cluster/node-peer.mjs
//
// (INTERVAL_MS sets how often it asks the cluster, 5000 by default.)
// cmd/parley's TestMixedClusterByHand runs it as the README says.
//
// What it shows, in both directions:
//   - Parley to Node.js: the chat's "user connected" and "user disconnected"
//     broadcasts, sent by Parley nodes, reach a socket.io-client connected to
//     this Node.js server, which prints them;
//   - Node.js to Parley: every 5 s it asks the whole cluster for its server
//     count and its sockets (fetchSockets), which the Parley nodes answer with
//     their chat sockets and the user each belongs to;
//   - Node.js to Parley, visibly: on start it broadcasts a "user connected"
//     for a pseudo-user "node.js peer" to the whole cluster, so every open
//     chat page shows it online, and "user disconnected" when it stops.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const redisURL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const port = Number(process.env.PORT || 3002);
const interval = Number(process.env.INTERVAL_MS || 5000);

const pub = createClient({ url: redisURL });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", (err) => console.error(`redis: ${err.message}`));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
// The chat's clients authenticate with a username; this server only watches.
io.on("connection", (socket) => socket.emit("hello", "node-peer"));
const self = { userID: "node-peer", username: "node.js peer", connected: true, messages: [] };
httpServer.listen(port, () => console.log(`node-peer: socket.io on :${port}, Redis ${redisURL}`));

const watcher = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"] });
// Announce the pseudo-user once the watcher is in, so that it sees every
// broadcast from then on.
watcher.once("connect", () => io.emit("user connected", self));
watcher.on("user connected", (u) => {
  console.log(`broadcast from the cluster: user connected ${u.username} (${u.userID})`);
});
watcher.on("user disconnected", (userID) => console.log(`broadcast from the cluster: user disconnected ${userID}`));

const timer = setInterval(async () => {
  try {
    const servers = await io.of("/").adapter.serverCount();
    const sockets = await io.fetchSockets();
    const users = sockets.filter((s) => s.data && s.data.username).map((s) => `${s.data.username} (socket ${s.id})`);
    console.log(`cluster: ${servers} servers, ${sockets.length} sockets; chat users: ${users.join(", ") || "none"}`);
  } catch (err) {
    console.error(`cluster request failed: ${err.message}`);
  }
}, interval);

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    clearInterval(timer);
    io.emit("user disconnected", self.userID);
    watcher.close();
    io.close();
    await Promise.allSettled([pub.quit(), sub.quit()]);
    process.exit(0);
  });
}
