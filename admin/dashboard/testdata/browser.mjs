// browser.mjs opens the dashboard a Parley node serves at /admin/ in
// Debian's Chromium (playwright-core), logs in to the node's admin UI as an
// operator would, and checks that the dashboard shows the node, its
// sockets (two clients this script connects with socket.io-client) and a
// room one of them joined. It saves screenshots in the artifacts
// directory, and prints "PASS" when every check holds.
//
// usage: node browser.mjs <base URL> <artifacts dir> <username> <password> <server id>
import { launchChromium, dashboardPage, logInToDashboard } from "../../../internal/testrig/js/chromium.mjs";
import { io } from "socket.io-client";
import assert from "node:assert/strict";
import path from "node:path";
import fs from "node:fs";

const [base, artifacts, username, password, serverId] = process.argv.slice(2);
if (!serverId) {
  console.error("usage: node browser.mjs <base URL> <artifacts dir> <username> <password> <server id>");
  process.exit(2);
}
fs.mkdirSync(artifacts, { recursive: true });

const timeout = { timeout: 20000 };
const browser = await launchChromium();
const clients = [];
const errors = [];

// client connects an ordinary socket.io client and resolves once it is in.
function client(nsp) {
  const socket = io(base + nsp, { forceNew: true, reconnection: false });
  clients.push(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

try {
  const alice = await client("/");
  const bob = await client("/");
  await alice.emitWithAck("join", "lobby");

  const page = await dashboardPage(browser, errors);

  await page.goto(base + "/admin/");
  await logInToDashboard(page, { server: base, username, password, timeout });

  // The dashboard hears from the node: its stats, then its sockets.
  await page.locator('a[href="#/servers"]').first().click();
  await page.getByRole("cell", { name: serverId, exact: true }).waitFor(timeout);
  await page.locator('a[href="#/sockets"]').first().click();
  for (const s of [alice, bob]) {
    await page.getByRole("cell", { name: s.id, exact: true }).waitFor(timeout);
  }
  await page.screenshot({ path: path.join(artifacts, "admin-sockets.png"), fullPage: true });
  await page.locator('a[href="#/rooms"]').first().click();
  await page.getByRole("cell", { name: "lobby", exact: true }).waitFor(timeout);
  await page.locator('a[href="#/"]').first().click();
  // Let a few stats reach the charts before the picture.
  await page.waitForTimeout(1000);
  await page.screenshot({ path: path.join(artifacts, "admin-dashboard.png"), fullPage: true });

  assert.deepEqual(errors, []);
  console.log("PASS");
} catch (err) {
  console.error("FAIL:", err, errors);
  process.exitCode = 1;
} finally {
  for (const c of clients) c.disconnect();
  await browser.close();
}
