// browser.mjs drives the chat page in Debian's Chromium with playwright-core:
// two users log in, chat both ways, one reloads and keeps the session and
// history, one leaves and the other sees it. It writes a screenshot of each
// user's page to the artifacts directory, exits 0 and prints "PASS" when
// every check holds.
//
// usage: node browser.mjs <base URL> <artifacts dir> [sticky cookie name]
//
// With a sticky cookie name (behind a load balancer), it also checks that the
// two users were served by different nodes, and prints which.
import { launchChromium } from "../../../internal/testrig/js/chromium.mjs";
import assert from "node:assert/strict";
import path from "node:path";
import fs from "node:fs";

const [base, artifacts, stickyCookie] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error("usage: node browser.mjs <base URL> <artifacts dir>");
  process.exit(2);
}
fs.mkdirSync(artifacts, { recursive: true });

const browser = await launchChromium();

const errors = [];

async function newUser(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (err) => errors.push(`${name}: ${err.message}`));
  page.on("console", (msg) => { if (msg.type() === "error") errors.push(`${name} console: ${msg.text()}`); });
  await page.goto(base);
  await page.getByTestId("username-input").fill(name);
  await page.getByTestId("login-button").click();
  await page.getByTestId("connection-status").and(page.locator('[data-state="connected"]')).waitFor();
  return { name, context, page };
}

const row = (user, username) => user.page.locator(`[data-testid="user-row"][data-username="${username}"]`);
const timeout = { timeout: 15000 };

async function openConversation(user, username) {
  await row(user, username).click();
  await user.page.getByTestId("conversation-title").getByText(username).waitFor(timeout);
}

async function send(user, text) {
  await user.page.getByTestId("message-input").fill(text);
  await user.page.getByTestId("send-button").click();
  await user.page.locator('[data-testid="message"][data-from-self="true"][data-status="sent"]', { hasText: text }).waitFor(timeout);
}

async function expectMessage(user, text, fromSelf) {
  await user.page.locator(`[data-testid="message"][data-from-self="${fromSelf}"]`, { hasText: text }).waitFor(timeout);
}

try {
  const alice = await newUser("alice");
  const bob = await newUser("bob");

  if (stickyCookie) {
    const node = async (user) => (await user.context.cookies()).find((c) => c.name === stickyCookie)?.value;
    const [a, b] = [await node(alice), await node(bob)];
    assert.ok(a && b, `no ${stickyCookie} cookie: the load balancer did not make the sessions sticky`);
    assert.notEqual(a, b, "both users landed on the same node; the test needs two");
    console.log(`NODES alice=${a} bob=${b}`);
  }

  // Presence: each sees the other online.
  await row(alice, "bob").and(alice.page.locator('[data-online="true"]')).waitFor(timeout);
  await row(bob, "alice").and(bob.page.locator('[data-online="true"]')).waitFor(timeout);

  // Alice writes; bob gets an unread marker, opens the conversation, replies.
  await openConversation(alice, "bob");
  const injection = '<img src=x onerror="window.pwned=1"> & <b>bold</b>';
  await send(alice, "hello bob");
  await send(alice, injection);
  await row(bob, "alice").getByTestId("unread-badge").waitFor(timeout);
  await openConversation(bob, "alice");
  await expectMessage(bob, "hello bob", false);
  await expectMessage(bob, injection, false);
  assert.equal(await bob.page.locator('[data-testid="messages"] img, [data-testid="messages"] b').count(), 0,
    "user text was parsed as HTML");
  assert.equal(await bob.page.evaluate(() => window.pwned), undefined);
  await send(bob, "hi alice");
  await expectMessage(alice, "hi alice", false);

  // Bob reloads: no login form, same identity, history kept.
  await bob.page.reload();
  await bob.page.getByTestId("connection-status").and(bob.page.locator('[data-state="connected"]')).waitFor(timeout);
  assert.equal(await bob.page.getByTestId("username-input").isVisible(), false, "login form shown after reload");
  await openConversation(bob, "alice");
  await expectMessage(bob, "hello bob", false);
  await expectMessage(bob, "hi alice", true);
  await row(alice, "bob").and(alice.page.locator('[data-online="true"]')).waitFor(timeout);

  const shot = (name) => path.join(artifacts, `${stickyCookie ? "lb-" : ""}browser-${name}.png`);
  await bob.page.screenshot({ path: shot("bob"), fullPage: true });
  await alice.page.screenshot({ path: shot("alice-before-bob-leaves"), fullPage: true });

  // Bob leaves: alice sees him offline.
  await bob.context.close();
  await row(alice, "bob").and(alice.page.locator('[data-online="false"]')).waitFor({ timeout: 60000 });
  await alice.page.screenshot({ path: shot("alice"), fullPage: true });

  assert.deepEqual(errors, [], "errors in the pages");
  console.log("PASS");
  await browser.close();
  process.exit(0);
} catch (err) {
  console.error(`FAIL: ${err.stack || err}`);
  if (errors.length) console.error("page errors:\n" + errors.join("\n"));
  await browser.close();
  process.exit(1);
}
