// chat-client.mjs drives a Parley node with the official socket.io-client
// (npm, pinned by the repository's package-lock.json), the way the Vue
// private-messaging frontend uses it, and checks every rule of the chat
// protocol it can see. It exits 0 and prints "PASS" when all hold; otherwise
// it prints what failed and exits 1.
//
// usage: node chat-client.mjs <base URL> <polling|websocket|default>
import { io } from "socket.io-client";
import assert from "node:assert/strict";

const [base, mode] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], default: undefined }[mode];
if (!base || !(mode in { polling: 1, websocket: 1, default: 1 })) {
  console.error("usage: node chat-client.mjs <base URL> <polling|websocket|default>");
  process.exit(2);
}

const open = [];

// connect opens a socket with the given auth and records every event.
function connect(auth) {
  const socket = io(base, { autoConnect: false, forceNew: true, reconnection: false, transports, auth });
  socket.events = [];
  socket.onAny((event, ...args) => socket.events.push({ event, args }));
  socket.on("connect_error", (err) => socket.events.push({ event: "connect_error", args: [err.message] }));
  socket.connect();
  open.push(socket);
  return socket;
}

// waitFor resolves with the args of the first event named `event` matching
// `match`, already received or to come.
function waitFor(socket, event, match = () => true, ms = 10000) {
  return new Promise((resolve, reject) => {
    const found = socket.events.find((e) => e.event === event && match(...e.args));
    if (found) return resolve(found.args);
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`no ${event} within ${ms} ms; got ${JSON.stringify(socket.events.map((e) => e.event))}`));
    }, ms);
    const poll = setInterval(() => {
      const hit = socket.events.find((e) => e.event === event && match(...e.args));
      if (hit) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve(hit.args);
      }
    }, 5);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// login connects and returns the socket with its session, after checking
// that session came before users and that users entries are well formed.
async function login(auth) {
  const socket = connect(auth);
  const [session] = await waitFor(socket, "session");
  const [users] = await waitFor(socket, "users");
  const names = socket.events.map((e) => e.event);
  assert.ok(names.indexOf("session") < names.indexOf("users"), "session must come before users");
  assert.equal(typeof session.sessionID, "string");
  assert.equal(typeof session.userID, "string");
  assert.notEqual(session.sessionID, session.userID);
  for (const u of users) {
    assert.deepEqual(Object.keys(u).sort(), ["connected", "messages", "userID", "username"]);
    assert.equal(typeof u.connected, "boolean");
    assert.ok(Array.isArray(u.messages));
  }
  socket.session = session;
  socket.users = users;
  return socket;
}

function privateTo(socket, content, to) {
  return socket.timeout(10000).emitWithAck("private message", { content, to });
}

async function main() {
  // A refused username: the exact message, and no automatic retry.
  const refused = connect({ username: "" });
  const [reason] = await waitFor(refused, "connect_error");
  assert.equal(reason, "invalid username");
  assert.equal(refused.active, false, "the client must not retry after a middleware refusal");

  // A stale session without a username is refused the same way.
  const stale = connect({ sessionID: "0123456789abcdef0123456789abcdef" });
  assert.equal((await waitFor(stale, "connect_error"))[0], "invalid username");

  const alice1 = await login({ username: "alice" });
  const alice2 = await login({ sessionID: alice1.session.sessionID });
  assert.deepEqual(alice2.session, alice1.session, "a second tab resumes the session");
  const bob = await login({ username: "bob" });
  const A = alice1.session.userID, B = bob.session.userID;

  const [joined] = await waitFor(alice1, "user connected", (u) => u.userID === B);
  assert.deepEqual(joined, { userID: B, username: "bob", connected: true, messages: [] });
  assert.equal(bob.users.find((u) => u.userID === A).connected, true);

  // A message reaches the recipient and the sender's other tab, not the sender.
  assert.deepEqual(await privateTo(alice1, "héllo <b>bob</b>", B), { ok: true });
  const msg = { content: "héllo <b>bob</b>", from: A, to: B };
  assert.deepEqual((await waitFor(bob, "private message"))[0], msg);
  assert.deepEqual((await waitFor(alice2, "private message"))[0], msg);
  assert.deepEqual(await privateTo(bob, "hi alice", A), { ok: true });
  await waitFor(alice1, "private message", (m) => m.content === "hi alice");
  assert.equal(alice1.events.filter((e) => e.event === "private message").length, 1,
    "the sending socket must not get its own message back");

  // Invalid payloads are refused with a reason and delivered to nobody.
  assert.deepEqual(await alice1.timeout(10000).emitWithAck("private message", "garbage"), { error: "invalid payload" });
  assert.deepEqual(await privateTo(alice1, "", B), { error: "content must be a non-empty string" });
  assert.deepEqual(await privateTo(alice1, "x", "nobody"), { error: "unknown recipient" });

  // Reload: same session, history oldest first.
  bob.disconnect();
  assert.equal((await waitFor(alice1, "user disconnected"))[0], B);
  const bob2 = await login({ sessionID: bob.session.sessionID });
  assert.deepEqual(bob2.session, bob.session);
  assert.deepEqual(bob2.users.find((u) => u.userID === A).messages,
    [msg, { content: "hi alice", from: B, to: A }]);

  // Closing one of two tabs keeps the user online; closing the last does not.
  alice1.disconnect();
  await sleep(700);
  assert.ok(!bob2.events.some((e) => e.event === "user disconnected" && e.args[0] === A),
    "alice announced offline while a tab is open");
  alice2.disconnect();
  assert.equal((await waitFor(bob2, "user disconnected", (id) => id === A))[0], A);
  console.log(`PASS ${mode}`);
}

main().then(
  () => { open.forEach((s) => s.disconnect()); process.exit(0); },
  (err) => { console.error(`FAIL ${mode}: ${err.stack || err}`); open.forEach((s) => s.disconnect()); process.exit(1); },
);
