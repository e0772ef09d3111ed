// Two headless Chromium pages (a mentor and a student) on the gateway's demo
// page exchange a message; each must see it appear. Options as JSON in argv[2]:
// {mentorUrl, studentUrl, screenshotDir, text, reply}. One JSON line out.
const { chromium } = require("playwright-core");
const path = require("path");

const opts = JSON.parse(process.argv[2]);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"];

async function open(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 700 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => process.stderr.write(`pageerror: ${err}\n`));
  await page.goto(url);
  await page.waitForSelector("#status:text('connected')", { timeout: 15000 });
  await page.waitForSelector("#conversations li", { timeout: 15000 });
  await page.click("#conversations li");
  await page.waitForSelector("#body:not([disabled])", { timeout: 15000 });
  return page;
}

async function sees(page, text) {
  await page.waitForSelector(`.msg .body:text-is(${JSON.stringify(text)})`, { timeout: 15000 });
}

(async () => {
  const browser = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", args: FLAGS });
  try {
    const mentor = await open(browser, opts.mentorUrl);
    const student = await open(browser, opts.studentUrl);
    await mentor.fill("#body", opts.text);
    await mentor.press("#body", "Enter");
    await sees(student, opts.text);
    await sees(mentor, opts.text);
    await student.fill("#body", opts.reply);
    await student.press("#body", "Enter");
    await sees(mentor, opts.reply);
    await sees(student, opts.reply);
    const shots = {
      mentor: path.join(opts.screenshotDir, "demo-mentor.png"),
      student: path.join(opts.screenshotDir, "demo-student.png"),
    };
    await mentor.screenshot({ path: shots.mentor });
    await student.screenshot({ path: shots.student });
    const studentBodies = await student.$$eval(".msg .body", (els) => els.map((e) => e.textContent));
    process.stdout.write(JSON.stringify({ ok: true, shots, studentBodies }) + "\n");
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(err) }) + "\n");
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
