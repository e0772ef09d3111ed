// A page in headless Chromium that uses the gateway's /client/realtime.js from
// another origin. Options as JSON in argv[2]: {scenario: "reload"|"gap"|"refresh",
// gatewayUrl, apiUrl, secret, student: [role, id], mentor: [role, id],
// conversationId, count, ttl, screenshotDir, chromium}. One JSON line out: what the page saw.
const { chromium } = require("playwright-core");
const crypto = require("crypto");
const http = require("http");
const path = require("path");

const opts = JSON.parse(process.argv[2]);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"];

function mint([role, id], ttl) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: String(id), role, iat: now, exp: now + ttl })}`;
  return `${head}.${crypto.createHmac("sha256", opts.secret).update(head).digest("base64url")}`;
}

async function send(body) {
  const response = await fetch(`${opts.apiUrl}/api/v1/conversations/${opts.conversationId}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${mint(opts.mentor, 600)}`, "Content-Type": "application/json" },
    body: JSON.stringify({ body }),
  });
  if (response.status !== 201) throw new Error(`send: ${response.status} ${await response.text()}`);
  return response.json();
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>realtime.js</title>
<body style="font: 13px monospace"><h3>realtime.js <span id="loads"></span></h3><ol id="got"></ol>
<script type="module">
import { connect } from "${opts.gatewayUrl}/client/realtime.js";
const got = JSON.parse(sessionStorage.getItem("test.got") || "[]");
const loads = Number(sessionStorage.getItem("test.loads") || 0) + 1;
sessionStorage.setItem("test.loads", loads);
const t = window.t = { got, loads, connects: [], disconnects: [], gaps: [], synced: [], refreshed: [], errors: [] };
document.getElementById("loads").textContent = "page load " + loads;
const list = document.getElementById("got");
const show = (e) => { const li = document.createElement("li"); li.textContent = e.seq + " " + e.body; list.append(li); };
got.forEach(show);
const rt = window.rt = connect({ url: ${JSON.stringify(opts.gatewayUrl)}, api: ${JSON.stringify(opts.apiUrl + "/api/v1")},
  getToken: () => window.mintToken(), onError: (err) => t.errors.push(String(err.message || err)) });
// Test hook: lose the next message:created on its way in, as a dropped packet would.
let dropNext = false;
window.dropNextMessage = () => { dropNext = true; };
const onevent = rt.socket.onevent.bind(rt.socket);
rt.socket.onevent = (packet) => {
  if (dropNext && packet.data[0] === "message:created") { dropNext = false; t.dropped = packet.data[1].id; return; }
  onevent(packet);
};
rt.on("message:created", (e) => {
  const item = { id: e.id, seq: e.seq, body: e.data.body };
  got.push(item);
  sessionStorage.setItem("test.got", JSON.stringify(got));
  show(item);
});
rt.on("connect", ({ id }) => t.connects.push(id));
rt.on("disconnect", ({ reason }) => t.disconnects.push(reason));
rt.on("gap", (gap) => t.gaps.push(gap));
rt.on("synced", (s) => t.synced.push(s));
rt.on("refreshed", (r) => t.refreshed.push(r));
</script>`;

const state = (page) => page.evaluate(() => window.t);
const until = (page, condition, arg) => page.waitForFunction(condition, arg, { timeout: 20000 });

async function reload(page) {
  // Mid-stream: the sender keeps going while the page goes away and comes back.
  const sending = (async () => {
    for (let i = 1; i <= opts.count; i++) await send(`message ${i}`);
  })();
  await until(page, () => window.t.got.length >= 5);
  await page.reload();
  await until(page, () => window.t && window.t.connects.length === 1);
  await until(page, (n) => window.t.got.length >= n, Math.floor(opts.count / 2));
  await page.reload();
  await sending;
  await until(page, (n) => window.t && window.t.got.length >= n, opts.count).catch(() => {});
}

async function away(page, url) {
  // Away from the page (same tab, so its sessionStorage stays) while messages are sent, then back.
  await until(page, () => window.t.connects.length === 1);
  await send("before leaving");
  await until(page, () => window.t.got.length === 1);
  await page.goto("about:blank");
  for (let i = 1; i <= opts.count; i++) await send(`while away ${i}`);
  await page.goto(url);
  await until(page, (n) => window.t && window.t.got.length >= n, opts.count + 1).catch(() => {});
}

async function gap(page) {
  await until(page, () => window.t.connects.length === 1);
  await send("before the gap");
  await until(page, () => window.t.got.length === 1);
  await page.evaluate(() => window.dropNextMessage());
  await send("lost on the way");
  await until(page, () => window.t.dropped !== undefined);
  await send("after the gap");
  await until(page, () => window.t.got.length >= 3 && window.t.synced.length >= 1).catch(() => {});
}

async function refresh(page, firstExp) {
  await until(page, () => window.t.connects.length === 1);
  await until(page, () => window.t.refreshed.length >= 2);
  firstExp = firstExp();
  // Past the first token's expiry, by which the gateway would have closed the socket.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstExp * 1000 + 1000 - Date.now())));
  await send("after the old expiry");
  await until(page, () => window.t.got.length === 1).catch(() => {});
}

(async () => {
  const browser = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", args: FLAGS });
  let page = null;
  // The frontend on its own origin (another port): it imports the helper cross-origin.
  const server = http.createServer((request, response) => {
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(PAGE);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    let firstExp = null;
    await context.exposeFunction("mintToken", () => {
      const token = mint(opts.student, opts.ttl);
      firstExp = firstExp || JSON.parse(Buffer.from(token.split(".")[1], "base64url")).exp;
      return token;
    });
    page = await context.newPage();
    page.on("pageerror", (err) => process.stderr.write(`pageerror: ${err}\n`));
    page.on("console", (msg) => process.stderr.write(`console: ${msg.text()}\n`));
    const url = `http://127.0.0.1:${server.address().port}/app.html`;
    await page.goto(url);
    await until(page, () => window.t !== undefined);
    if (opts.scenario === "reload") await reload(page);
    else if (opts.scenario === "away") await away(page, url);
    else if (opts.scenario === "gap") await gap(page);
    else await refresh(page, () => firstExp);
    const shot = path.join(opts.screenshotDir, `realtime-${opts.scenario}.png`);
    await page.screenshot({ path: shot });
    process.stdout.write(JSON.stringify({ ok: true, shot, ...(await state(page)) }) + "\n");
  } catch (err) {
    const seen = page && (await state(page).catch(() => null));
    process.stdout.write(JSON.stringify({ ok: false, error: String(err), seen }) + "\n");
    process.exitCode = 1;
  } finally {
    await browser.close();
    server.close();
  }
})();
