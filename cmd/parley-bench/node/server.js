// The Node.js peer of parley-bench: socket.io 4.8.4 with the same two events
// as `parley-bench serve`, joined to a cluster with @socket.io/redis-adapter
// 8.3.0 when a Redis URL is given.
// Usage: node server.js PORT PING_INTERVAL_MS PING_TIMEOUT_MS [REDIS_URL]
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const [port, pingInterval, pingTimeout] = process.argv.slice(2, 5).map(Number);
const redisURL = process.argv[5];
const httpServer = createServer();
const io = new Server(httpServer, { pingInterval, pingTimeout, maxHttpBufferSize: 1e6, serveClient: false });
if (redisURL) {
  const pub = createClient({ url: redisURL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

io.on("connection", (socket) => {
  socket.on("broadcast", (...args) => io.emit("bcast", ...args));
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
});

httpServer.listen(port, "127.0.0.1", () => console.log(`listening 127.0.0.1:${httpServer.address().port}`));
process.on("SIGTERM", () => io.close(() => process.exit(0)));
