// The Node.js peer: socket.io 4 with the classic Redis adapter, as its
// documentation shows it, doing what bench/stock_server.py does.
//
// A connect middleware verifies the JWT (jsonwebtoken, HS256) and the socket
// joins its personal room `<role>:<id>` and the audience room `everyone`.
// Events arrive through @socket.io/redis-adapter's PUB/SUB channels
// (`<key>#/#<room>#`, msgpack), in the format @socket.io/redis-emitter sends.
// GET /healthz answers 200 once Redis is connected (the adapter subscribes in
// the background, as python-socketio's manager does: the harness lets it settle).
//
// node bench/node/server.js --port 8100 --redis redis://127.0.0.1:6379/0 --key bench-node --secret S
"use strict";

const http = require("node:http");
const { parseArgs } = require("node:util");
const jwt = require("jsonwebtoken");
const { createClient } = require("redis");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    redis: { type: "string" },
    key: { type: "string" },
    secret: { type: "string" },
  },
});

function healthz(req, res) {
  if (req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end('{"status":"ok"}');
  } else {
    res.writeHead(404);
    res.end();
  }
}

async function main() {
  const pubClient = createClient({ url: args.redis });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);

  const httpServer = http.createServer(healthz);
  const io = new Server(httpServer, { serveClient: false });
  io.adapter(createAdapter(pubClient, subClient, { key: args.key }));

  io.use((socket, next) => {
    try {
      const claims = jwt.verify(socket.handshake.auth?.token ?? "", args.secret, { algorithms: ["HS256"] });
      socket.data.room = `${claims.role}:${parseInt(claims.sub, 10)}`;
      next();
    } catch (err) {
      next(Object.assign(new Error(err.message), { data: { code: "token_invalid" } }));
    }
  });
  io.on("connection", (socket) => {
    socket.join([socket.data.room, "everyone"]);
  });

  // The harness stops servers with SIGTERM; exit at once, as the Python servers do.
  process.on("SIGTERM", () => process.exit(0));
  httpServer.listen(Number(args.port), "127.0.0.1");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
