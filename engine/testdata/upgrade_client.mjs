// Connects with the official socket.io-client (polling first, then the
// upgrade to WebSocket), then checks a 200 KB acked event, a binary acked
// event and a broadcast with a binary attachment. Prints one JSON line.
// Usage: node upgrade_client.mjs http://127.0.0.1:PORT
import { io } from "socket.io-client";

const out = {};
const finish = (extra) => {
  console.log(JSON.stringify({ ...out, ...extra }));
  process.exit(extra && extra.error ? 1 : 0);
};
setTimeout(() => finish({ error: "timeout" }), 15000);

const socket = io(process.argv[2], { forceNew: true, reconnection: false });
out.initialTransport = socket.io.engine.transport.name;
socket.on("connect_error", (err) => finish({ error: `connect_error: ${err.message}` }));

async function exchange() {
  out.transport = socket.io.engine.transport.name;
  const big = await socket.timeout(5000).emitWithAck("echo", "x".repeat(200000));
  out.bigEcho = big.length;
  const bin = await socket.timeout(5000).emitWithAck("echo", Buffer.from([1, 2, 3]));
  out.binaryEcho = [...bin];
  socket.once("bcast", (msg, attachment) => {
    out.broadcast = msg;
    out.broadcastBinary = [...attachment];
    socket.close();
    finish();
  });
  socket.emit("broadcast", "hello", Buffer.from([9, 8]));
}

socket.on("connect", () => {
  const run = () => exchange().catch((err) => finish({ error: String(err) }));
  if (socket.io.engine.transport.name === "websocket") run();
  else socket.io.engine.once("upgrade", run);
});
