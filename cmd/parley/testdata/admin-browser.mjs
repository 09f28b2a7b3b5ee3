// admin-browser.mjs opens the Socket.IO Admin UI's dashboard that node 1
// of a two-node Parley cluster serves at /admin/, in Debian's Chromium
// (playwright-core), logs in as an operator would, and checks that the
// dashboard shows both nodes and the chat sockets of both: alice on node 1
// and bob on node 2, connected by this script with socket.io-client. It
// saves screenshots in the artifacts directory and prints "PASS" when every
// check holds.
//
// usage: node admin-browser.mjs <URL 1> <URL 2> <artifacts dir> <username> <password> <id 1> <id 2>
import { launchChromium, dashboardPage, logInToDashboard } from "../../../internal/testrig/js/chromium.mjs";
import { io } from "socket.io-client";
import assert from "node:assert/strict";
import path from "node:path";
import fs from "node:fs";

const [url1, url2, artifacts, username, password, id1, id2] = process.argv.slice(2);
if (!id2) {
  console.error("usage: node admin-browser.mjs <URL 1> <URL 2> <artifacts dir> <username> <password> <id 1> <id 2>");
  process.exit(2);
}
fs.mkdirSync(artifacts, { recursive: true });

const timeout = { timeout: 20000 };
const browser = await launchChromium();
const clients = [];
const errors = [];

// chatUser logs in to the chat of a node and resolves once it has the
// users list, with the user id the chat gave it.
function chatUser(url, username) {
  const socket = io(url, { forceNew: true, reconnection: false, auth: { username } });
  clients.push(socket);
  socket.once("session", ({ userID }) => { socket.userID = userID; });
  return new Promise((resolve, reject) => {
    socket.once("users", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

try {
  const alice = await chatUser(url1, "alice");
  const bob = await chatUser(url2, "bob");

  const page = await dashboardPage(browser, errors);

  await page.goto(url1 + "/admin");
  assert.equal(new URL(page.url()).pathname, "/admin/");
  await logInToDashboard(page, { server: url1, username, password, timeout });

  // Both nodes report to the dashboard of node 1, through Redis.
  await page.locator('a[href="#/servers"]').first().click();
  for (const id of [id1, id2]) {
    await page.getByRole("cell", { name: id, exact: true }).waitFor(timeout);
  }
  await page.screenshot({ path: path.join(artifacts, "admin-cluster-servers.png"), fullPage: true });
  // The sockets of both nodes, node 2's fetched through the adapter.
  await page.locator('a[href="#/sockets"]').first().click();
  for (const s of [alice, bob]) {
    await page.getByRole("cell", { name: s.id, exact: true }).waitFor(timeout);
  }
  // Let the page's transition end before the picture.
  await page.waitForTimeout(800);
  await page.screenshot({ path: path.join(artifacts, "admin-cluster-sockets.png"), fullPage: true });
  // Each user's socket joins a room named by the user id: bob's is on
  // node 2.
  await page.locator('a[href="#/rooms"]').first().click();
  for (const s of [alice, bob]) {
    await page.getByRole("cell", { name: s.userID, exact: true }).waitFor(timeout);
  }
  // Some traffic for the charts: alice writes to bob, across the nodes.
  for (let i = 1; i <= 3; i++) {
    const got = new Promise((resolve) => bob.once("private message", resolve));
    const ack = await alice.emitWithAck("private message", { content: `hello ${i}`, to: bob.userID });
    assert.deepEqual(ack, { ok: true });
    assert.equal((await got).content, `hello ${i}`);
  }
  await page.locator('a[href="#/"]').first().click();
  // Let a few stats reach the charts before the picture.
  await page.waitForTimeout(4500);
  await page.screenshot({ path: path.join(artifacts, "admin-cluster-dashboard.png"), fullPage: true });

  assert.deepEqual(errors, []);
  console.log("PASS");
} catch (err) {
  console.error("FAIL:", err, errors);
  process.exitCode = 1;
} finally {
  for (const c of clients) c.disconnect();
  await browser.close();
}
