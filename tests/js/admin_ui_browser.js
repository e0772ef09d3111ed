// The Socket.IO Admin UI served by the gateway, in headless Chromium: log in,
// open Sockets and Rooms. Options as JSON in argv[2]: {page, server, user,
// password, screenshotDir, chromium}. One JSON line out: what the tables show.
const { chromium } = require("playwright-core");
const path = require("path");

const opts = JSON.parse(process.argv[2]);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"];

async function rows(page, section) {
  await page.click(`nav >> text=${section}`);
  await page.waitForSelector("main tbody tr td", { timeout: 15000 });
  await page.waitForTimeout(500);  // the table fills from the server's next update
  return page.$$eval("main tbody tr", (trs) => trs.map((tr) => tr.innerText.split("\t").map((c) => c.trim())));
}

(async () => {
  const browser = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", args: FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 800 } });
    page.on("pageerror", (err) => process.stderr.write(`pageerror: ${err}\n`));
    await page.goto(opts.page);
    await page.getByLabel("Server URL").fill(opts.server);
    await page.getByLabel("Username").fill(opts.user);
    await page.getByLabel("Password").fill(opts.password);
    await page.getByRole("button", { name: "Connect" }).click();
    await page.waitForSelector("text=CONNECTED", { timeout: 15000 });
    const sockets = await rows(page, "Sockets");
    const socketsShot = path.join(opts.screenshotDir, "admin-ui-sockets.png");
    await page.screenshot({ path: socketsShot });
    const rooms = await rows(page, "Rooms");
    const roomsShot = path.join(opts.screenshotDir, "admin-ui-rooms.png");
    await page.screenshot({ path: roomsShot });
    process.stdout.write(JSON.stringify({ ok: true, sockets, rooms, shots: [socketsShot, roomsShot] }) + "\n");
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(err) }) + "\n");
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
