// instrumented.mjs is the test application of admin_test.go on Node's
// socket.io 4.8 with @socket.io/admin-ui 0.5.1's instrument: the reference
// the scenarios of admin-client.mjs are checked against, so that what they
// expect of Parley is what instrument does. It prints {"port": n} once
// listening, and exits when its stdin closes.
//
// usage: node instrumented.mjs <JSON options of instrument>
import { createServer } from "node:http";
import { Server } from "socket.io";
import { instrument } from "@socket.io/admin-ui";

const options = JSON.parse(process.argv[2] || "{}");
const httpServer = createServer();
const io = new Server(httpServer);

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
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
