// Proof of the bench publisher's bytes: run the real @socket.io/redis-emitter
// once on a throwaway key and print what it published, one JSON line per
// message ({"channel", "data": base64}), for bench/redis_emitter.py to compare.
//
// node bench/node/emit_once.js --redis URL --key K --event bench --rooms '["student:1","everyone"]' --bt 'bt=1.0|0~'
"use strict";

const { parseArgs } = require("node:util");
const { createClient } = require("redis");
const { Emitter } = require("@socket.io/redis-emitter");

const { values: args } = parseArgs({
  options: {
    redis: { type: "string" },
    key: { type: "string" },
    event: { type: "string" },
    rooms: { type: "string" },
    bt: { type: "string" },
  },
});

async function main() {
  const rooms = JSON.parse(args.rooms);
  const pubClient = createClient({ url: args.redis });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  const got = [];
  let done;
  const all = new Promise((resolve) => { done = resolve; });
  await subClient.pSubscribe(`${args.key}#*`, (message, channel) => {
    got.push({ channel: channel.toString(), data: message.toString("base64") });
    if (got.length === rooms.length) done();
  }, true);
  const emitter = new Emitter(pubClient, { key: args.key });
  for (const room of rooms) {
    emitter.to(room).emit(args.event, { b: args.bt });
  }
  const timeout = setTimeout(() => { console.error("emit_once: timed out"); process.exit(2); }, 5000);
  await all;
  clearTimeout(timeout);
  for (const line of got) console.log(JSON.stringify(line));
  await Promise.all([pubClient.quit(), subClient.quit()]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
