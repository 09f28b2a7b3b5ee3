// browser.mjs loads testdata/browser.html (socket.io-client's browser
// bundle) from the rig's server in Debian's Chromium with playwright-core,
// in two pages: each connects over long polling and upgrades to
// WebSocket, emits text and binary with an ack, and receives a binary
// broadcast that one of them asked for. It prints "PASS browser/<check>"
// or "FAIL browser/<check>: <reason>" lines, then "DONE <passed>/<total>".
//
// usage: node browser.mjs <page URL>
import { launchChromium } from "../../internal/testrig/js/chromium.mjs";
import assert from "node:assert/strict";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node browser.mjs <page URL>");
  process.exit(2);
}

const browser = await launchChromium();

const errors = [];
let passed = 0;
let total = 0;
async function check(name, fn) {
  total++;
  try {
    await fn();
    passed++;
    console.log(`PASS browser/${name}`);
  } catch (err) {
    console.log(`FAIL browser/${name}: ${(err && err.stack) || err}`.replaceAll("\n", "\n    "));
  }
}

try {
  const context = await browser.newContext();
  const pages = [];
  for (const name of ["one", "two"]) {
    const page = await context.newPage();
    page.on("pageerror", (err) => errors.push(`${name}: ${err.message}`));
    page.on("console", (msg) => { if (msg.type() === "error") errors.push(`${name} console: ${msg.text()}`); });
    await page.goto(url);
    pages.push(page);
  }
  await check("connect-and-upgrade", async () => {
    for (const [i, page] of pages.entries()) {
      const r = await page.evaluate((name) => window.connect(name), `page${i}`);
      assert.deepEqual(r, { first: "polling", now: "websocket", idMatches: true, serverTransport: "websocket" });
    }
  });
  await check("emit-with-ack", async () => {
    const r = await pages[0].evaluate(() => window.echo());
    assert.deepEqual(r, { text: "hi", first: [1, 2, 3], firstType: "[object ArrayBuffer]", nested: [4, 5], n: 6, empty: [] });
  });
  await check("binary-broadcast", async () => {
    const size = 100000;
    assert.deepEqual(await pages[0].evaluate((n) => window.broadcast(n), size), { ok: true });
    for (const page of pages) {
      const r = await page.evaluate((n) => window.binaryReceived(n), size);
      assert.deepEqual(r, { ok: true, type: "[object ArrayBuffer]", text: "from the server", length: size });
    }
  });
  await check("no-page-errors", async () => assert.deepEqual(errors, []));
} finally {
  await browser.close();
}
console.log(`DONE ${passed}/${total}`);
