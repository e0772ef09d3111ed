// The demo page's Web Push part in headless Chromium: "Enable push" registers
// the service worker (sw.js); a push delivered to it through the DevTools
// protocol (what Chromium's push service would hand it) shows a notification.
// Options as JSON in argv[2]: {url, chromium, push}. One JSON line out.
const { chromium } = require("playwright-core");

const opts = JSON.parse(process.argv[2]);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"];

(async () => {
  const browser = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", args: FLAGS });
  try {
    const origin = new URL(opts.url).origin;
    const context = await browser.newContext();
    await context.grantPermissions(["notifications"], { origin });
    const page = await context.newPage();
    page.on("pageerror", (err) => process.stderr.write(`pageerror: ${err}\n`));
    await page.goto(opts.url);
    await page.click("#push-enable");
    // In this sandbox no vendor push service is reachable: subscribe fails after the worker is ready.
    await page.waitForFunction(() => /push (on|unavailable|not supported)/.test(
      document.getElementById("push-status").textContent), null, { timeout: 30000 });
    const pushStatus = await page.textContent("#push-status");
    const registration = await page.evaluate(async () => {
      const r = await navigator.serviceWorker.getRegistration();
      return r && { scope: r.scope, active: !!r.active, script: r.active && r.active.scriptURL };
    });
    const cdp = await context.newCDPSession(page);
    const registrations = new Promise((resolve) => cdp.on("ServiceWorker.workerRegistrationUpdated",
      (e) => e.registrations.length && resolve(e.registrations)));
    await cdp.send("ServiceWorker.enable");
    const [{ registrationId }] = await registrations;
    await cdp.send("ServiceWorker.deliverPushMessage", { origin, registrationId, data: JSON.stringify(opts.push) });
    const notifications = await page.waitForFunction(async () => {
      const r = await navigator.serviceWorker.getRegistration();
      const shown = await r.getNotifications();
      return shown.length ? shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })) : null;
    }, null, { timeout: 15000, polling: 200 });
    process.stdout.write(JSON.stringify({ ok: true, pushStatus, registration,
      notifications: await notifications.jsonValue() }) + "\n");
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(err) }) + "\n");
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
