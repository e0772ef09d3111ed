// The API's /docs page in headless Chromium with every request that leaves
// loopback refused: Swagger UI must render the operations from the API's own
// files. Options as JSON in argv[2]: {url, screenshot, chromium}. One JSON line out.
const { chromium } = require("playwright-core");

const opts = JSON.parse(process.argv[2]);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"];

(async () => {
  const browser = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", args: FLAGS });
  const refused = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.route("**/*", (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === "127.0.0.1" || host === "localhost") return route.continue();
      refused.push(route.request().url());
      return route.abort();
    });
    await page.goto(opts.url);
    await page.waitForSelector(".opblock", { timeout: 20000 });
    const operations = await page.$$eval(".opblock-summary-path", (els) => els.map((e) => e.textContent.trim()));
    await page.screenshot({ path: opts.screenshot, fullPage: false });
    process.stdout.write(JSON.stringify({ ok: true, operations, refused }) + "\n");
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(err), refused }) + "\n");
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
