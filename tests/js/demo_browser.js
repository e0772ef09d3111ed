// Headless Chromium on the gateway's demo page. Scenario "chat" (the default):
// a mentor and a student exchange a message; each must see it appear. Options
// as JSON in argv[2]: {mentorUrl, studentUrl, screenshotDir, text, reply}.
// Scenario "unread": the student's open conversation stays at unread 0 while a
// message arrives, and a send the API refuses shows its error
// ({studentUrl, apiUrl, mentorToken, adminToken, open, other, studentId}). One JSON line out.
const { chromium } = require("playwright-core");
const path = require("path");

const opts = JSON.parse(process.argv[2]);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"];

async function open(browser, url, conversationId) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 700 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => process.stderr.write(`pageerror: ${err}\n`));
  await page.goto(url);
  await page.waitForSelector("#status:text('connected')", { timeout: 15000 });
  await page.waitForSelector("#conversations li", { timeout: 15000 });
  await page.click(conversationId ? `#conversations li[data-id="${conversationId}"]` : "#conversations li");
  await page.waitForSelector("#body:not([disabled])", { timeout: 15000 });
  return page;
}

async function sees(page, text) {
  await page.waitForSelector(`.msg .body:text-is(${JSON.stringify(text)})`, { timeout: 15000 });
}

async function call(method, path, token, body) {
  const response = await fetch(`${opts.apiUrl}${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
}

async function unread(browser) {
  const student = await open(browser, opts.studentUrl, opts.open);
  const item = (id) => `#conversations li[data-id="${id}"]`;
  await call("POST", `/conversations/${opts.open}/messages`, opts.mentorToken, { body: "while it is open" });
  await call("POST", `/conversations/${opts.other}/messages`, opts.mentorToken, { body: "in the other one" });
  await sees(student, "while it is open");
  // The list has been reloaded after both messages once both previews show.
  await student.waitForSelector(`${item(opts.other)} .preview:text-is("in the other one")`, { timeout: 15000 });
  await student.waitForSelector(`${item(opts.open)} .preview:text-is("while it is open")`, { timeout: 15000 });
  const counts = await student.$$eval("#conversations li", (els) => els.map((e) => [Number(e.dataset.id),
    Number(e.dataset.unread), e.querySelector(".unread").textContent]));
  const unreadShot = path.join(opts.screenshotDir, "demo-unread.png");
  await student.screenshot({ path: unreadShot });
  // Taken out of the conversation meanwhile: the next send is refused, and the page says so.
  await call("DELETE", `/conversations/${opts.open}/participants/student/${opts.studentId}`, opts.adminToken);
  await student.fill("#body", "am I still here?");
  await student.press("#body", "Enter");
  await student.waitForSelector("#error:not([hidden])", { timeout: 15000 });
  const error = await student.textContent("#error");
  const kept = await student.inputValue("#body");
  const errorShot = path.join(opts.screenshotDir, "demo-rest-error.png");
  await student.screenshot({ path: errorShot });
  return { counts, error, kept, shots: { unread: unreadShot, error: errorShot } };
}

(async () => {
  const browser = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", args: FLAGS });
  try {
    if (opts.scenario === "unread") {
      process.stdout.write(JSON.stringify({ ok: true, ...(await unread(browser)) }) + "\n");
      return;
    }
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
