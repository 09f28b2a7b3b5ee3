// admin-client.mjs speaks to a Parley node's admin UI as the dashboard
// does, with the official socket.io-client (npm, pinned by the
// repository's package-lock.json), next to ordinary clients of the node's
// test application (admin_test.go), and checks what @socket.io/admin-ui
// 0.5.1's instrument would send. It prints "PASS <scenario>" and exits 0
// when every check holds; otherwise it prints what failed and exits 1.
//
// usage: node admin-client.mjs <base URL> <scenario>[,<scenario>...] [JSON argument]
import { io } from "socket.io-client";
import assert from "node:assert/strict";
import { record, waitFor } from "../../internal/testrig/js/events.mjs";

const [base, scenario, rawArg] = process.argv.slice(2);
const arg = rawArg ? JSON.parse(rawArg) : undefined;
const open = [];

// connect opens a socket to a namespace and records what it receives.
function connect(nsp, opts = {}, url = base) {
  const socket = record(io(url + nsp, { forceNew: true, reconnection: false, autoConnect: false, ...opts }));
  socket.on("connect", () => socket.events.push({ event: "connect", args: [] }));
  socket.on("connect_error", (err) => socket.events.push({ event: "connect_error", args: [err.message] }));
  socket.on("disconnect", (reason) => socket.events.push({ event: "disconnect", args: [reason] }));
  socket.connect();
  open.push(socket);
  return socket;
}

const admin = (opts, url) => connect("/admin", opts, url);
const client = (opts) => connect("/", opts);

// names returns the names of the events received so far.
const names = (socket) => socket.events.map((e) => e.event);

// barrier returns once the server has handled what the admin socket sent
// before (the test application answers "barrier" in the admin namespace).
const barrier = (socket) => socket.emitWithAck("barrier");

const isDate = (s) => typeof s === "string" && new Date(s).toISOString() === s;

function checkSerialized(s, nsp) {
  assert.deepEqual(Object.keys(s).sort(), ["clientId", "data", "handshake", "id", "nsp", "rooms", "transport"]);
  assert.equal(s.nsp, nsp);
  assert.equal(s.clientId.length, 12);
  assert.ok(["polling", "websocket"].includes(s.transport), s.transport);
  assert.deepEqual(Object.keys(s.handshake).sort(), ["address", "headers", "issued", "query", "secure", "time", "url", "xdomain"]);
  assert.equal(typeof s.handshake.issued, "number");
  assert.equal(s.handshake.query.EIO, "4");
  assert.ok(s.rooms.includes(s.id));
}

const scenarios = {
  // Basic auth with the bcrypt hash of "changeit", and the session id.
  async auth() {
    const anonymous = admin();
    assert.deepEqual(await waitFor(anonymous, "connect_error"), ["invalid credentials"]);
    const wrong = admin({ auth: { username: "admin", password: "wrong" } });
    assert.deepEqual(await waitFor(wrong, "connect_error"), ["invalid credentials"]);
    const otherUser = admin({ auth: { username: "root", password: "changeit" } });
    assert.deepEqual(await waitFor(otherUser, "connect_error"), ["invalid credentials"]);
    const badSession = admin({ auth: { sessionId: "1234" } });
    assert.deepEqual(await waitFor(badSession, "connect_error"), ["invalid credentials"]);

    const good = admin({ auth: { username: "admin", password: "changeit" } });
    const [session] = await waitFor(good, "session");
    assert.match(session, /^[0-9a-f]{16}$/);
    await waitFor(good, "config");
    assert.deepEqual(names(good).slice(0, 1), ["connect"], "session and config come after connect");

    // The dashboard logs in again with the session id alone, and gets no
    // new session.
    const again = admin({ auth: { sessionId: session } });
    await waitFor(again, "config");
    assert.ok(!names(again).includes("session"), "a second session was handed out");
  },

  // The supported features: the argument lists servers and what each
  // should say.
  async config() {
    for (const { url, want } of arg) {
      const [config] = await waitFor(admin({}, url), "config");
      assert.deepEqual(config, { supportedFeatures: want }, url);
    }
  },

  // server_stats of this node, and its aggregated events.
  async stats() {
    const a = admin();
    await waitFor(a, "config");
    const c = client({ transports: ["polling"] });
    await waitFor(c, "connect");
    await c.emitWithAck("hello", "x".repeat(100));
    // A report made between the client's handshake and its CONNECT counts
    // the engine connection but not yet the socket: wait for one after both.
    const [stats] = await waitFor(
      a,
      "server_stats",
      (s) => s.clientsCount === 2 && s.namespaces.some((n) => n.name === "/" && n.socketsCount === 1),
    );
    assert.deepEqual(Object.keys(stats), ["serverId", "hostname", "pid", "uptime", "clientsCount", "pollingClientsCount", "aggregatedEvents", "namespaces"]);
    assert.equal(stats.serverId, arg.serverId);
    assert.equal(typeof stats.hostname, "string");
    if (arg.pid) assert.equal(stats.pid, arg.pid);
    assert.ok(stats.uptime > 0);
    assert.equal(stats.pollingClientsCount >= 1, true, "the polling client");
    assert.deepEqual(stats.namespaces, [{ name: "/", socketsCount: 1 }, { name: "/admin", socketsCount: 1 }]);

    // Each report counts what happened since the one before: add them up
    // until the client's disconnection shows.
    const totals = {};
    const add = (s) => {
      for (const e of s.aggregatedEvents) {
        assert.deepEqual(Object.keys(e), e.subType ? ["timestamp", "type", "subType", "count"] : ["timestamp", "type", "count"]);
        assert.equal(e.timestamp % 1000, 0);
        const key = e.subType ? `${e.type}:${e.subType}` : e.type;
        totals[key] = (totals[key] || 0) + e.count;
      }
    };
    add(stats);
    // The reports before it (the client's rawConnection may be in one).
    for (const e of a.events.filter((e) => e.event === "server_stats")) add(e.args[0]);
    a.events = a.events.filter((e) => e.event !== "server_stats");
    c.disconnect();
    for (;;) {
      const [s] = await waitFor(a, "server_stats");
      add(s);
      if (totals["rawDisconnection:transport close"]) break;
    }
    // The dashboard's own session opened before it could hear of it.
    assert.ok(totals.rawConnection >= 1, JSON.stringify(totals));
    assert.ok(totals.packetsIn >= 3 && totals.bytesIn > 100, JSON.stringify(totals));
    assert.ok(totals.packetsOut >= 4 && totals.bytesOut > 100, JSON.stringify(totals));
  },

  // all_sockets when a dashboard connects.
  async sockets() {
    const c = client();
    await waitFor(c, "connect");
    await c.emitWithAck("set-data", { name: "alice" });
    const a = admin();
    const [sockets] = await waitFor(a, "all_sockets");
    assert.equal(sockets.length, 2);
    const mine = sockets.find((s) => s.nsp === "/");
    const adm = sockets.find((s) => s.nsp === "/admin");
    checkSerialized(mine, "/");
    checkSerialized(adm, "/admin");
    assert.equal(mine.id, c.id);
    assert.equal(adm.id, a.id);
    assert.deepEqual(mine.data, { name: "alice" });
    assert.deepEqual(adm.data, {});
    assert.deepEqual(mine.rooms, [c.id]);
    assert.equal(mine.clientId, c.io.engine.id.slice(0, 12));
  },

  // socket_connected, room_joined, room_left, socket_updated,
  // socket_disconnected.
  async events() {
    const a = admin();
    await waitFor(a, "config");
    const c = client();
    await waitFor(c, "connect");
    // The socket's own room, then the socket, as Node's instrument says.
    const own = await waitFor(a, "room_joined", (nsp) => nsp === "/");
    assert.deepEqual(own.slice(0, 3), ["/", c.id, c.id]);
    const [s, at] = await waitFor(a, "socket_connected", (s) => s.nsp === "/");
    checkSerialized(s, "/");
    assert.equal(s.id, c.id);
    assert.ok(isDate(at), at);

    await c.emitWithAck("join", "room1");
    const [nsp, room, id, when] = await waitFor(a, "room_joined", (nsp, room) => room === "room1");
    assert.deepEqual([nsp, room, id], ["/", "room1", c.id]);
    assert.ok(isDate(when));
    await c.emitWithAck("leave", "room1");
    assert.deepEqual((await waitFor(a, "room_left", (nsp, room) => room === "room1")).slice(0, 3), ["/", "room1", c.id]);

    await c.emitWithAck("set-data", { count: 1 });
    const [update] = await waitFor(a, "socket_updated", (u) => u.data);
    assert.deepEqual(update, { id: c.id, nsp: "/", data: { count: 1 } });

    // The client upgrades from polling to WebSocket.
    const [upgrade] = await waitFor(a, "socket_updated", (u) => u.transport && u.id === c.id);
    assert.deepEqual(upgrade, { id: c.id, nsp: "/", transport: "websocket" });

    const cid = c.id;
    c.disconnect();
    const [dnsp, did, reason, dat] = await waitFor(a, "socket_disconnected", (nsp, id) => nsp === "/" && id === cid);
    assert.deepEqual([dnsp, did, reason], ["/", cid, "client namespace disconnect"]);
    assert.ok(isDate(dat));
    assert.deepEqual((await waitFor(a, "room_left", (nsp, room) => nsp === "/" && room === cid)).slice(0, 3), ["/", cid, cid]);
  },

  // event_received and event_sent, binary and acks included.
  async traffic() {
    const a = admin();
    await waitFor(a, "config");
    const c = client();
    await waitFor(c, "connect");
    assert.equal(await c.emitWithAck("hello", 1, "2", Buffer.from([3])), "123");
    const [nsp, id, args, at] = await waitFor(a, "event_received");
    assert.deepEqual([nsp, id], ["/", c.id]);
    assert.deepEqual(args, ["hello", 1, "2", Buffer.from([3])]);
    assert.ok(isDate(at));
    const [snsp, sid, sargs, sat] = await waitFor(a, "event_sent");
    assert.deepEqual([snsp, sid], ["/", c.id]);
    assert.deepEqual(sargs, ["hello-back", 1, "2", Buffer.from([3])]);
    assert.ok(isDate(sat));
    await barrier(a);
    assert.ok(!names(a).includes("event_received"), "the admin namespace's own events are not reported");
  },

  // The commands, by socket id and by room.
  async commands() {
    const a = admin();
    await waitFor(a, "config");
    const c1 = client();
    const c2 = client();
    await waitFor(c1, "connect");
    await waitFor(c2, "connect");
    const rooms = async (c) => (await c.emitWithAck("rooms")).sort();

    a.emit("emit", "/", c1.id, "hello", "world", { n: 1 });
    assert.deepEqual(await waitFor(c1, "hello"), ["world", { n: 1 }]);
    a.emit("join", "/", "room1", c1.id);
    await barrier(a);
    assert.deepEqual(await rooms(c1), [c1.id, "room1"].sort());
    assert.deepEqual(await rooms(c2), [c2.id]);
    a.emit("join", "/", "everyone");
    await barrier(a);
    assert.ok((await rooms(c2)).includes("everyone"));
    a.emit("leave", "/", "room1", c1.id);
    await barrier(a);
    assert.ok(!(await rooms(c1)).includes("room1"));
    a.emit("emit", "/", "everyone", "news", 42);
    assert.deepEqual(await waitFor(c1, "news"), [42]);
    assert.deepEqual(await waitFor(c2, "news"), [42]);
    a.emit("emit", "/", null, "all", "x");
    assert.deepEqual(await waitFor(c2, "all"), ["x"]);
    a.emit("leave", "/", "everyone", "everyone");
    await barrier(a);
    assert.deepEqual(await rooms(c2), [c2.id]);

    a.emit("_disconnect", "/", false, c1.id);
    assert.deepEqual(await waitFor(c1, "disconnect"), ["io server disconnect"]);
    assert.ok(c2.connected);
    a.emit("join", "/", "last");
    a.emit("_disconnect", "/", true, "last");
    assert.deepEqual(await waitFor(c2, "disconnect"), ["io server disconnect"]);
    assert.ok(a.connected, "the dashboard stays");
  },

  // A read-only admin UI ignores the commands.
  async readonly() {
    const a = admin();
    const [config] = await waitFor(a, "config");
    assert.ok(!config.supportedFeatures.includes("EMIT"));
    const c = client();
    await waitFor(c, "connect");
    a.emit("emit", "/", c.id, "hello", "world");
    a.emit("join", "/", "room1", c.id);
    a.emit("_disconnect", "/", false, c.id);
    a.emit("_disconnect", "/", true);
    await barrier(a);
    assert.deepEqual(await c.emitWithAck("rooms"), [c.id]);
    assert.ok(c.connected);
    assert.ok(!names(c).includes("hello"), "the emit command went through");
  },

  // Dynamic namespaces are reported too.
  async dynamic() {
    const a = admin();
    await waitFor(a, "config");
    const c = connect("/dynamic-101");
    await waitFor(c, "connect");
    const [s] = await waitFor(a, "socket_connected", (s) => s.nsp !== "/admin");
    assert.equal(s.nsp, "/dynamic-101");
    assert.equal(s.id, c.id);
  },

  // A session started on this node lets the dashboard in on the other.
  async ["shared-session"]() {
    const good = admin({ auth: { username: "admin", password: "changeit" } });
    const [session] = await waitFor(good, "session");
    const other = admin({ auth: { sessionId: session } }, arg.other);
    await waitFor(other, "config");
    assert.ok(!names(other).includes("session"));
    const stranger = admin({ auth: { sessionId: "0123456789abcdef" } }, arg.other);
    assert.deepEqual(await waitFor(stranger, "connect_error"), ["invalid credentials"]);
  },

  // A dashboard on this node watches and steers the sockets of the other
  // nodes of a cluster. arg: {servers: [the serverId of every node],
  // remotes: [{url, serverId}]: the nodes whose sockets it looks at}.
  async cluster() {
    const a = admin();
    await waitFor(a, "config");
    // A node's stats reach this one once its subscriptions are up: from
    // then on, nothing the node reports is lost.
    const reports = [];
    a.on("server_stats", (s) => reports.push(s));
    for (const id of arg.servers) await waitFor(a, "server_stats", (s) => s.serverId === id);
    const rooms = async (c) => (await c.emitWithAck("rooms")).sort();
    const ids = [];
    const joined = (id, room) => waitFor(a, "room_joined", (nsp, r, i) => nsp === "/" && r === room && i === id);
    const left = (id, room) => waitFor(a, "room_left", (nsp, r, i) => nsp === "/" && r === room && i === id);
    const checkDated = async (wait, want, where) => {
      const got = await wait;
      assert.deepEqual(got.slice(0, -1), want, where);
      assert.ok(isDate(got[got.length - 1]), `${where}: ${got[got.length - 1]}`);
    };

    for (const { url, serverId } of arg.remotes) {
      const where = `${serverId} (${url})`;
      // A client that starts with polling and upgrades.
      const c1 = connect("/", {}, url);
      await waitFor(c1, "connect");
      const [s, at] = await waitFor(a, "socket_connected", (s) => s.id === c1.id);
      checkSerialized(s, "/");
      assert.equal(s.clientId, c1.io.engine.id.slice(0, 12), where);
      assert.ok(isDate(at), `${where}: ${at}`);
      await checkDated(joined(c1.id, c1.id), ["/", c1.id, c1.id], where);
      const [upgrade] = await waitFor(a, "socket_updated", (u) => u.id === c1.id && u.transport);
      assert.deepEqual(upgrade, { id: c1.id, nsp: "/", transport: "websocket" }, where);

      await c1.emitWithAck("set-data", { name: "alice" });
      const [update] = await waitFor(a, "socket_updated", (u) => u.id === c1.id && u.data);
      assert.deepEqual(update, { id: c1.id, nsp: "/", data: { name: "alice" } }, where);
      await c1.emitWithAck("join", "room1");
      await checkDated(joined(c1.id, "room1"), ["/", "room1", c1.id], where);
      await c1.emitWithAck("leave", "room1");
      await checkDated(left(c1.id, "room1"), ["/", "room1", c1.id], where);

      // Events, binary included, as the remote node saw them.
      const payload = [1, "2", Buffer.from([3, 4]), { nested: [Buffer.from([5])], n: null }];
      assert.equal(await c1.emitWithAck("hello", ...payload), "123");
      const received = waitFor(a, "event_received", (nsp, id, args) => id === c1.id && args[0] === "hello");
      await checkDated(received, ["/", c1.id, ["hello", ...payload]], where);
      const sent = waitFor(a, "event_sent", (nsp, id, args) => id === c1.id && args[0] === "hello-back");
      await checkDated(sent, ["/", c1.id, ["hello-back", ...payload]], where);
      ids.push(c1.id);

      // all_sockets, for a dashboard that comes now, and the node's stats.
      const c2 = connect("/", { transports: ["websocket"] }, url);
      await waitFor(c2, "connect");
      await waitFor(a, "socket_connected", (s) => s.id === c2.id);
      const a2 = admin();
      const [sockets] = await waitFor(a2, "all_sockets");
      a2.disconnect();
      for (const c of [c1, c2]) {
        const found = sockets.find((s) => s.id === c.id);
        assert.ok(found, `${where}: ${c.id} is not in all_sockets ${JSON.stringify(sockets)}`);
        checkSerialized(found, "/");
        assert.equal(found.clientId, c.io.engine.id.slice(0, 12), where);
        assert.equal(found.transport, "websocket", where);
        assert.deepEqual(found.rooms, [c.id], where);
      }
      assert.deepEqual(sockets.find((s) => s.id === c1.id).data, { name: "alice" }, where);
      assert.deepEqual(sockets.find((s) => s.id === c2.id).data, {}, where);
      const [stats] = await waitFor(
        a,
        "server_stats",
        (st) => st.serverId === serverId && st.namespaces.some((n) => n.name === "/" && n.socketsCount === 2),
      );
      assert.ok(stats.clientsCount >= 2, `${where}: ${JSON.stringify(stats)}`);

      // The commands, by socket id and by room.
      a.emit("emit", "/", c1.id, "cmd", "by-id", Buffer.from([1, 2]));
      assert.deepEqual(await waitFor(c1, "cmd"), ["by-id", Buffer.from([1, 2])], where);
      // A broadcast counts as sent to each socket it reaches.
      const cmdSent = waitFor(a, "event_sent", (nsp, id, args) => id === c1.id && args[0] === "cmd");
      await checkDated(cmdSent, ["/", c1.id, ["cmd", "by-id", Buffer.from([1, 2])]], where);
      a.emit("join", "/", "room2", c1.id);
      await joined(c1.id, "room2");
      assert.deepEqual(await rooms(c1), [c1.id, "room2"].sort(), where);
      assert.deepEqual(await rooms(c2), [c2.id], where);
      a.emit("emit", "/", "room2", "cmd", "by-room");
      assert.deepEqual(await waitFor(c1, "cmd"), ["by-room"], where);
      a.emit("join", "/", "room3", "room2");
      await joined(c1.id, "room3");
      a.emit("leave", "/", "room2", c1.id);
      await left(c1.id, "room2");
      a.emit("leave", "/", "room3", "room3");
      await left(c1.id, "room3");
      assert.deepEqual(await rooms(c1), [c1.id], where);
      a.emit("join", "/", "everyone", null);
      await joined(c1.id, "everyone");
      await joined(c2.id, "everyone");
      a.emit("emit", "/", "everyone", "cmd", "to-everyone");
      assert.deepEqual(await waitFor(c1, "cmd"), ["to-everyone"], where);
      assert.deepEqual(await waitFor(c2, "cmd"), ["to-everyone"], where);

      const [id1, id2] = [c1.id, c2.id];
      ids.push(id2);
      a.emit("_disconnect", "/", false, id1);
      assert.deepEqual(await waitFor(c1, "disconnect"), ["io server disconnect"], where);
      await checkDated(
        waitFor(a, "socket_disconnected", (nsp, id) => id === id1),
        ["/", id1, "server namespace disconnect"],
        where,
      );
      assert.ok(c2.connected, where);
      a.emit("join", "/", "last", id2);
      await joined(id2, "last");
      a.emit("_disconnect", "/", true, "last");
      assert.deepEqual(await waitFor(c2, "disconnect"), ["io server disconnect"], where);
      await checkDated(
        waitFor(a, "socket_disconnected", (nsp, id) => id === id2),
        ["/", id2, "server namespace disconnect"],
        where,
      );
    }
    assert.ok(a.connected, "the dashboard stays");
    // The remote nodes count their clients' disconnections, with the
    // reason, in a report to come.
    for (const { serverId } of arg.remotes) {
      const [s] = await waitFor(a, "server_stats", (s) => s.serverId === serverId && s.aggregatedEvents.some((e) => e.type === "rawDisconnection"));
      const reasons = s.aggregatedEvents.filter((e) => e.type === "rawDisconnection").map((e) => e.subType);
      assert.ok(reasons.every((r) => typeof r === "string" && r !== ""), `${serverId}: ${JSON.stringify(s)}`);
    }

    // Each report came once: the checks took all there was of these.
    const taken = (e) =>
      (e.event === "socket_connected" && ids.includes(e.args[0].id)) ||
      (e.event === "socket_disconnected" && ids.includes(e.args[1])) ||
      (e.event === "event_received" && ids.includes(e.args[1]) && e.args[2][0] === "hello") ||
      (e.event === "event_sent" && ids.includes(e.args[1]) && e.args[2][0] === "hello-back");
    assert.deepEqual(a.events.filter(taken), [], "reports came twice");

    // Every report, whichever node made it, has instrument's fields, and
    // those of the remote nodes counted their clients' connections.
    const statsKeys = ["aggregatedEvents", "clientsCount", "hostname", "namespaces", "pid", "pollingClientsCount", "serverId", "uptime"];
    for (const s of reports) {
      assert.deepEqual(Object.keys(s).sort(), statsKeys, JSON.stringify(s));
      for (const e of s.aggregatedEvents) {
        const keys = e.subType === undefined ? ["count", "timestamp", "type"] : ["count", "subType", "timestamp", "type"];
        assert.deepEqual(Object.keys(e).sort(), keys, JSON.stringify(s));
        assert.equal(e.timestamp % 1000, 0, JSON.stringify(s));
      }
    }
    for (const { serverId } of arg.remotes) {
      const events = reports.filter((s) => s.serverId === serverId).flatMap((s) => s.aggregatedEvents);
      assert.ok(events.some((e) => e.type === "rawConnection"), `${serverId}: ${JSON.stringify(events)}`);
    }
  },

  // A dashboard on a read-only node sees the cluster but steers nothing,
  // here or elsewhere. arg: {other: the URL of a read-only node, servers:
  // the serverId of every node}.
  async ["cluster-readonly"]() {
    const a = admin();
    await waitFor(a, "config");
    const ro = admin({}, arg.other);
    const [config] = await waitFor(ro, "config");
    assert.deepEqual(config.supportedFeatures, ["AGGREGATED_EVENTS", "ALL_EVENTS"]);
    for (const id of arg.servers) await waitFor(ro, "server_stats", (s) => s.serverId === id);
    for (const id of arg.servers) await waitFor(a, "server_stats", (s) => s.serverId === id);
    // The commands aim at the dashboard of this node. Had the read-only
    // node taken them, it would have published them before answering the
    // barrier, and so before reporting the event of its client that
    // follows: this dashboard would get them before that report.
    ro.emit("emit", "/admin", a.id, "probe");
    ro.emit("emit", "/admin", null, "probe");
    ro.emit("join", "/admin", "ro-room", a.id);
    ro.emit("leave", "/admin", a.id, a.id);
    ro.emit("_disconnect", "/admin", false, a.id);
    ro.emit("_disconnect", "/admin", true, null);
    await barrier(ro);
    const c = connect("/", { transports: ["websocket"] }, arg.other);
    await waitFor(c, "connect");
    await c.emitWithAck("hello", "after");
    await waitFor(a, "event_received", (nsp, id, args) => id === c.id && args[0] === "hello");
    assert.ok(a.connected && ro.connected);
    assert.ok(!names(a).includes("probe") && !names(ro).includes("probe"));
    const steered = (e) =>
      (e.event === "room_joined" && e.args[1] === "ro-room") || (e.event === "room_left" && e.args[0] === "/admin" && e.args[2] === a.id);
    assert.deepEqual(a.events.filter(steered), []);
  },

  // A closed admin UI turns dashboards away.
  async closed() {
    const a = admin();
    await waitFor(a, "disconnect");
    assert.ok(!names(a).includes("config"));
  },
};

// Scenarios named together (a,b,c) run in order on the same server, each
// with sockets of its own, closed before the next starts.
let failed = false;
for (const name of scenario.split(",")) {
  try {
    if (!scenarios[name]) throw new Error(`unknown scenario ${name}`);
    await scenarios[name]();
    console.log(`PASS ${name}`);
  } catch (err) {
    console.error(`FAIL ${name}:`, err);
    failed = true;
    break;
  } finally {
    for (const s of open.splice(0)) s.disconnect();
  }
}
process.exitCode = failed ? 1 : 0;
