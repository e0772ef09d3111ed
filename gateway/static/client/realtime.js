// realtime.js - the browser helper for the mentorship gateway (a plain ES module).
//
//   import { connect } from "https://gateway.example/client/realtime.js";
//   const rt = connect({ url: "https://gateway.example", api: "https://site.example/api/v1", getToken });
//   rt.on("message:created", (envelope) => show(envelope.data));
//
// It resumes after a reload from the last event id it handled (kept per
// principal in `storage`), drops envelopes it has seen (by id), watches `seq`
// per conversation room and asks the gateway to `sync` on a gap, follows
// `resync` by paging GET /events, and refreshes the token with `auth:refresh`
// before it expires. Handlers run in order; an envelope counts as handled
// (and is stored as such) once its handlers have returned.
import { io } from "./socket.io.esm.min.js";

const SEEN_LIMIT = 2000; // above the gateway's default replay cap (1000): a sync's overlap is still deduped
const PAGE = 500;

function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

export function connect({
  url, api, getToken, storage = globalThis.sessionStorage, onError = (err) => console.error("realtime:", err),
  idClaim = "sub", roleClaim = "role", socketOptions = {},
}) {
  const handlers = new Map();
  const seen = new Set();
  const rooms = new Map(); // room -> {seq, id} of the last envelope handled there
  const held = new Map(); // room -> envelopes past a gap, waiting for the missing ones
  let token = null;
  let key = null;
  let lastEventId = 0;
  let refreshTimer = null;
  let retryTimer = null;
  let retryDelay = 1000;
  let resyncing = null; // envelopes that arrive while GET /events is paged
  let closed = false;

  // "*" handlers get every event from the gateway; the helper's own ("connect", "gap", ...) go by name only.
  function fire(type, payload, fromGateway = false) {
    for (const name of fromGateway ? [type, "*"] : [type]) {
      for (const handler of handlers.get(name) || []) {
        try {
          handler(payload, type);
        } catch (err) {
          onError(err);
        }
      }
    }
  }

  function fail(err) {
    onError(err);
    fire("error", err);
  }

  async function freshToken() {
    token = await getToken();
    const claims = claimsOf(token);
    // Position per principal: another user signing in on this tab starts from nothing.
    const next = `realtime:${claims[roleClaim]}:${claims[idClaim]}`;
    if (next !== key) {
      key = next;
      restore();
    }
    return token;
  }

  function restore() {
    seen.clear();
    rooms.clear();
    held.clear();
    lastEventId = 0;
    try {
      const saved = JSON.parse(storage.getItem(key) || "null");
      if (saved && Number.isInteger(saved.last_event_id)) {
        lastEventId = saved.last_event_id;
        for (const [room, last] of Object.entries(saved.rooms || {})) rooms.set(room, last);
      }
    } catch {
      // No storage (private mode) or a damaged entry: start from live events.
    }
  }

  function save() {
    // A held envelope is not handled yet: a reload must get it again.
    let position = lastEventId;
    for (const list of held.values()) for (const e of list) position = Math.min(position, e.id - 1);
    try {
      storage.setItem(key, JSON.stringify({ last_event_id: position, rooms: Object.fromEntries(rooms) }));
    } catch {
      // Full or unavailable storage: resuming after a reload is lost, nothing else.
    }
  }

  function remember(id) {
    seen.add(id);
    if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value);
  }

  function handle(type, envelope) {
    remember(envelope.id);
    lastEventId = Math.max(lastEventId, envelope.id);
    if (Number.isInteger(envelope.seq)) {
      const last = rooms.get(envelope.room);
      if (!last || envelope.seq > last.seq) rooms.set(envelope.room, { seq: envelope.seq, id: envelope.id });
    }
    fire(type, envelope, true);
    save();
  }

  // Envelopes of a conversation room in seq order; a gap is held and synced.
  function receive(type, envelope) {
    if (!envelope || !Number.isInteger(envelope.id)) return fire(type, envelope, true); // live-only: no id, no seq
    if (seen.has(envelope.id)) return;
    if (resyncing) return resyncing.push([type, envelope]);
    const last = rooms.get(envelope.room);
    if (!Number.isInteger(envelope.seq) || !last || envelope.seq <= last.seq + 1) {
      handle(type, envelope);
      return drain(envelope.room);
    }
    const waiting = held.get(envelope.room) || [];
    if (waiting.some((e) => e.envelope.id === envelope.id)) return;
    waiting.push({ type, envelope });
    held.set(envelope.room, waiting.sort((a, b) => a.envelope.seq - b.envelope.seq));
    if (waiting.length === 1) sync(envelope.room, last, envelope.seq);
  }

  function drain(room) {
    const waiting = held.get(room);
    while (waiting && waiting.length && waiting[0].envelope.seq <= rooms.get(room).seq + 1) {
      const { type, envelope } = waiting.shift();
      if (!seen.has(envelope.id)) handle(type, envelope);
    }
    if (waiting && !waiting.length) held.delete(room);
  }

  // What the log cannot give (not in the room then, deleted for me) is given up on: hand over what is held.
  function release(room) {
    for (const { type, envelope } of held.get(room) || []) if (!seen.has(envelope.id)) handle(type, envelope);
    held.delete(room);
  }

  async function sync(room, last, seq) {
    fire("gap", { room, expected: last.seq + 1, seq });
    try {
      // The gateway replays every room after this id: what was missed, then live events, in order.
      const ack = await socket.timeout(15000).emitWithAck("sync", { last_event_id: last.id });
      if (!ack.ok) throw new Error(`sync refused: ${ack.error}`);
      if (!ack.resync) fire("synced", { room, replayed: ack.replayed });
    } catch (err) {
      fail(err);
    }
    if (!resyncing) release(room);
  }

  async function resync(after) {
    if (resyncing) return;
    resyncing = [];
    try {
      let page = { more: true, last_event_id: after };
      while (page.more) {
        const response = await fetch(`${api}/events?after=${page.last_event_id}&limit=${PAGE}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        const body = await response.json().catch(() => null);
        if (!response.ok) {
          const error = body && body.error ? body.error : { code: "http_error", message: response.statusText };
          throw Object.assign(new Error(`${response.status} ${error.code}: ${error.message}`), { error });
        }
        page = body;
        for (const envelope of page.events) if (!seen.has(envelope.id)) handle(envelope.type, envelope);
      }
      fire("synced", { replayed: null, resync: true, last_event_id: page.last_event_id });
    } catch (err) {
      fail(err);
    }
    const waiting = resyncing;
    resyncing = null;
    for (const room of [...held.keys()]) release(room);
    for (const [type, envelope] of waiting) receive(type, envelope);
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    const { exp, iat } = claimsOf(token);
    if (!Number.isInteger(exp)) return;
    // A quarter of the token's life before it ends, at most a minute.
    const lead = Math.min(60, Math.max(1, (exp - (iat || exp - 240)) / 4)) * 1000;
    // setTimeout fires at once past 2^31 ms (24.8 days): a long-lived token is looked at again then.
    const delay = Math.min(2 ** 31 - 1, Math.max(1000, exp * 1000 - Date.now() - lead));
    refreshTimer = setTimeout(() => (delay === 2 ** 31 - 1 ? scheduleRefresh() : refresh()), delay);
  }

  async function refresh() {
    try {
      await freshToken();
      const ack = await socket.timeout(10000).emitWithAck("auth:refresh", { token });
      if (!ack.ok) throw new Error(`token refresh refused: ${ack.error}`);
      fire("refreshed", { exp: ack.exp });
      scheduleRefresh();
    } catch (err) {
      // The socket would be closed at the old expiry: reconnect now, with a token asked for again.
      fail(err);
      reconnect();
    }
  }

  function reconnect() {
    clearTimeout(retryTimer);
    if (closed) return;
    socket.disconnect();
    socket.connect();
  }

  function retryLater() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(reconnect, retryDelay);
    retryDelay = Math.min(30000, retryDelay * 2);
  }

  const socket = io(url, {
    ...socketOptions,
    auth: (cb) => {
      freshToken().then(
        () => cb({ token, last_event_id: lastEventId || undefined }),
        (err) => {
          fail(err);
          cb({});
        },
      );
    },
  });

  socket.on("connect", () => {
    retryDelay = 1000;
    scheduleRefresh();
    fire("connect", { id: socket.id });
  });
  socket.on("disconnect", (reason) => {
    clearTimeout(refreshTimer);
    fire("disconnect", { reason });
    // The gateway closes a socket whose token expired; the client would not come back on its own.
    if (reason === "io server disconnect") retryLater();
  });
  socket.on("connect_error", (err) => {
    fail(Object.assign(err, { code: err.data && err.data.code }));
    // A refusal (token, database away) is final for socket.io-client; a network error it retries itself.
    if (!socket.active) retryLater();
  });
  socket.on("resync", (payload) => resync(payload && Number.isInteger(payload.after) ? payload.after : lastEventId));
  socket.onAny((type, payload) => {
    if (type !== "resync") receive(type, payload);
  });

  return {
    socket,
    get lastEventId() {
      return lastEventId;
    },
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type).add(handler);
      return this;
    },
    off(type, handler) {
      if (handlers.has(type)) handlers.get(type).delete(handler);
      return this;
    },
    emit(type, data) {
      return socket.timeout(10000).emitWithAck(type, data);
    },
    close() {
      closed = true;
      clearTimeout(refreshTimer);
      clearTimeout(retryTimer);
      socket.disconnect();
    },
  };
}
