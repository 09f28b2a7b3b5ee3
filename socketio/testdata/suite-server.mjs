// suite-server.mjs is Node's socket.io 4.8 (npm, pinned by the repository's
// package-lock.json) serving what FuzzSocketInput's server serves: in "/"
// and "/custom", "message" is answered with "message-back" and the same
// arguments, "message-with-ack" with an ack of them. It prints its URL and
// exits when its stdin closes.
import { createServer } from "node:http";
import { Server } from "socket.io";

const http = createServer();
const io = new Server(http);
for (const name of ["/", "/custom"]) {
  io.of(name).on("connection", (socket) => {
    socket.on("message", (...args) => socket.emit("message-back", ...args));
    socket.on("message-with-ack", (...args) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
  });
}
await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
console.log(`http://127.0.0.1:${http.address().port}`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
