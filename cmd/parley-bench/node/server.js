// The Node.js peer of parley-bench: socket.io 4.8.4 with the same two events
// as `parley-bench serve`. Usage: node server.js PORT PING_INTERVAL_MS PING_TIMEOUT_MS
import { createServer } from "node:http";
import { Server } from "socket.io";

const [port, pingInterval, pingTimeout] = process.argv.slice(2).map(Number);
const httpServer = createServer();
const io = new Server(httpServer, { pingInterval, pingTimeout, maxHttpBufferSize: 1e6, serveClient: false });

io.on("connection", (socket) => {
  socket.on("broadcast", (...args) => io.emit("bcast", ...args));
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
});

httpServer.listen(port, "127.0.0.1", () => console.log(`listening 127.0.0.1:${httpServer.address().port}`));
process.on("SIGTERM", () => io.close(() => process.exit(0)));
