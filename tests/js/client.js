// A socket.io-client v4 driven by tests/gateway: options as JSON in argv[2],
// one JSON line per thing that happens on stdout, commands as JSON lines on
// stdin ({"emit": name, "data": ...} -> {"ack": name, "data": ...}).
// Exits when stdin closes.
const { io } = require("socket.io-client");
const readline = require("readline");

const opts = JSON.parse(process.argv[2]);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const clientOpts = { reconnection: false, timeout: 5000 };
if (opts.mode === "header") clientOpts.extraHeaders = { Authorization: `Bearer ${opts.token}` };
else if (opts.mode === "query") clientOpts.query = { token: opts.token };
else clientOpts.auth = { token: opts.token, ...(opts.last_event_id != null ? { last_event_id: opts.last_event_id } : {}) };
if (opts.transports) clientOpts.transports = opts.transports;

const socket = io(opts.url, clientOpts);
socket.on("connect", () => out({ event: "connect", id: socket.id, transport: socket.io.engine.transport.name }));
socket.io.on("open", () => {
  out({ event: "open", transport: socket.io.engine.transport.name });
  socket.io.engine.on("upgrade", (t) => out({ event: "upgrade", transport: t.name }));
});
socket.on("connect_error", (err) => out({ event: "connect_error", message: err.message, data: err.data ?? null }));
socket.on("disconnect", (reason) => out({ event: "disconnect", reason }));
socket.onAny((name, payload) => out({ event: name, payload }));

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line);
  socket.emit(cmd.emit, cmd.data, (reply) => out({ ack: cmd.emit, data: reply }));
}).on("close", () => { socket.close(); process.exit(0); });
