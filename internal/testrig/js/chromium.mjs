// chromium.mjs is what the test scripts that drive Chromium share: the
// browser's start, and the Socket.IO Admin UI dashboard's page and login.
import { chromium } from "playwright-core";

// launchChromium starts Debian's Chromium ($CHROMIUM when set) headless,
// kept off the network except for the pages a script opens.
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// dashboardPage opens a page for the admin dashboard, recording its
// errors (page errors, and console errors other than refused requests)
// in errors.
export async function dashboardPage(browser, errors) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // The page's fonts and icons come from CDNs this machine may not reach:
  // refuse them at once rather than wait for a timeout.
  await context.route(/fonts\.googleapis\.com|fonts\.gstatic\.com|cdn\.jsdelivr\.net/, (route) => route.abort());
  const page = await context.newPage();
  page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/ERR_FAILED|net::/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  return page;
}

// logInToDashboard fills the dashboard's login form as an operator would:
// a wrong password first, which the dashboard must refuse ("Invalid
// credentials"), then the right one; it returns once the form is gone.
export async function logInToDashboard(page, { server, username, password, timeout }) {
  await page.getByLabel("Server URL").fill(server);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("wrong");
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByText("Invalid credentials").waitFor(timeout);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByLabel("Server URL").waitFor({ state: "hidden", ...timeout });
}
