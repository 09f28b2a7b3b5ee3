// admin-dashboard.mjs logs in to the admin UI of running parley binaries
// as the Socket.IO Admin UI's dashboard does (socket.io-client, the
// package-lock.json's version, on the admin namespace), and checks what
// admin_test.go asks. It prints "PASS <scenario>" and exits 0 when every
// check holds; otherwise it prints what failed and exits 1.
//
// usage:
//   node admin-dashboard.mjs login <URL> <username> <password> <server id>
//     the wrong password is refused, the right one gets a session and the
//     node's config and stats; the session id alone logs in again.
//   node admin-dashboard.mjs cluster <URL 1> <URL 2> <username> <password> <id 1> <id 2>
//     a session made on node 1 is accepted by node 2 (their Redis session
//     store), and one dashboard hears the stats of both nodes, each
//     counting the chat client this script connects to it.
//   node admin-dashboard.mjs open <URL>
//     with --admin-auth off, a dashboard gets in without credentials.
import { io } from "socket.io-client";
import assert from "node:assert/strict";
import { record, waitFor } from "../../../internal/testrig/js/events.mjs";

const [scenario, ...args] = process.argv.slice(2);
const open = [];

// connect opens a socket and records everything it receives.
function connect(url, opts = {}) {
  const socket = record(io(url, { forceNew: true, reconnection: false, transports: ["websocket"], ...opts }));
  open.push(socket);
  return socket;
}

// outcome resolves with "connect" or the connect_error's message.
function outcome(socket) {
  return new Promise((resolve) => {
    socket.once("connect", () => resolve("connect"));
    socket.once("connect_error", (err) => resolve(err.message));
  });
}

const dashboard = (url, auth) => connect(url + "/admin", { auth });

// loginOK logs in with credentials and returns the socket and its session.
async function loginOK(url, username, password) {
  const s = dashboard(url, { username, password });
  assert.equal(await outcome(s), "connect");
  const [sessionId] = await waitFor(s, "session");
  assert.match(sessionId, /^[0-9a-f]{16}$/);
  return { s, sessionId };
}

// chatUser connects a client of the chat and resolves once it is in.
async function chatUser(url, username) {
  const c = connect(url, { auth: { username } });
  assert.equal(await outcome(c), "connect");
  await waitFor(c, "users");
  return c;
}

const scenarios = {
  async login(url, username, password, serverId) {
    const wrong = dashboard(url, { username, password: password + "-wrong" });
    assert.equal(await outcome(wrong), "invalid credentials");
    const nobody = dashboard(url, { username: "someone-else", password });
    assert.equal(await outcome(nobody), "invalid credentials");
    const none = dashboard(url, {});
    assert.equal(await outcome(none), "invalid credentials");

    const { s, sessionId } = await loginOK(url, username, password);
    const [config] = await waitFor(s, "config");
    assert.ok(config.supportedFeatures.includes("AGGREGATED_EVENTS"), JSON.stringify(config));
    const [stats] = await waitFor(s, "server_stats", (st) => st.serverId === serverId);
    assert.equal(typeof stats.pid, "number");
    assert.ok(stats.namespaces.some((n) => n.name === "/"), JSON.stringify(stats));

    const again = dashboard(url, { sessionId });
    assert.equal(await outcome(again), "connect");
    const forged = dashboard(url, { sessionId: "0123456789abcdef" });
    assert.equal(await outcome(forged), "invalid credentials");
  },

  async cluster(url1, url2, username, password, id1, id2) {
    const { sessionId } = await loginOK(url1, username, password);
    // The dashboard behind a load balancer reconnects to another node
    // with the session id alone.
    const on2 = dashboard(url2, { sessionId });
    assert.equal(await outcome(on2), "connect");
    const forged = dashboard(url2, { sessionId: "0123456789abcdef" });
    assert.equal(await outcome(forged), "invalid credentials");

    await chatUser(url1, "alice");
    await chatUser(url2, "bob");
    // Each node's report counts its chat client (and on node 2 the
    // dashboard's connection too); both reach the dashboard of node 2.
    for (const id of [id1, id2]) {
      const [st] = await waitFor(on2, "server_stats", (x) => x.serverId === id && x.namespaces.some((n) => n.name === "/" && n.socketsCount >= 1));
      assert.equal(typeof st.uptime, "number");
    }
  },

  async open(url) {
    const s = dashboard(url, {});
    assert.equal(await outcome(s), "connect");
    await waitFor(s, "config");
    assert.ok(!s.events.some((e) => e.event === "session"), "a session without authentication");
  },
};

try {
  if (!scenarios[scenario]) throw new Error(`unknown scenario ${scenario}`);
  await scenarios[scenario](...args);
  console.log("PASS " + scenario);
} catch (err) {
  console.error("FAIL " + scenario + ":", err);
  process.exitCode = 1;
} finally {
  for (const s of open) s.disconnect();
}
