// A plain integration example for frontend authors: REST for every change,
// Socket.IO for everything live. Message bodies are always rendered as text.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { socket: null, me: null, current: null, seen: new Set(), lastEventId: 0, typingTimer: null,
  names: new Map() };

function defaultApi() {
  // Behind nginx the API shares the origin; the dev gateway on :8000 pairs with the API on :5000.
  if (location.port === "8000") return `${location.protocol}//${location.hostname}:5000/api/v1`;
  return `${location.origin}/api/v1`;
}

$("token").value = params.get("token") || localStorage.getItem("demo.token") || "";
$("api").value = params.get("api") || localStorage.getItem("demo.api") || defaultApi();

async function rest(method, path, body) {
  const response = await fetch($("api").value + path, {
    method,
    headers: { "Authorization": `Bearer ${$("token").value.trim()}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(`${response.status} ${data && data.error ? data.error.code : ""}`);
  return data;
}

function logEvent(name, payload) {
  const line = document.createElement("div");
  line.textContent = `${name} ${JSON.stringify(payload)}`;
  $("events").prepend(line);
}

function key(principal) {
  return `${principal.role}:${principal.id}`;
}

// A participant's display name (from the conversation list) when they have one, else `role:id`.
function who(principal) {
  return principal ? state.names.get(key(principal)) || key(principal) : "?";
}

function showMessage(message) {
  if (document.querySelector(`[data-message-id="${message.id}"]`)) return;
  const row = document.createElement("div");
  row.className = "msg";
  row.dataset.messageId = message.id;
  const name = document.createElement("span");
  name.className = "who";
  name.textContent = who(message.sender);
  const body = document.createElement("span");
  body.className = "body";
  body.textContent = message.deleted_at ? "(deleted)" : message.body;
  row.append(name, body);
  $("messages").append(row);
}

async function openConversation(conversation) {
  state.current = conversation.id;
  document.querySelectorAll("#conversations li").forEach((li) => {
    li.classList.toggle("active", Number(li.dataset.id) === conversation.id);
  });
  $("conversation-title").textContent = `Conversation ${conversation.id} (${conversation.type})`;
  $("messages").textContent = "";
  $("body").disabled = $("send-button").disabled = false;
  const page = await rest("GET", `/conversations/${conversation.id}/messages?limit=50`);
  const items = page.items || page.messages || page;
  items.slice().reverse().forEach(showMessage);
  if (items.length) await rest("POST", `/conversations/${conversation.id}/read`, { message_id: items[0].id });
}

async function loadConversations() {
  const page = await rest("GET", "/conversations?limit=50");
  const list = $("conversations");
  const people = new Map();
  list.textContent = "";
  const conversations = page.items || page.conversations || page;
  conversations.forEach((c) => (c.participants || []).forEach((p) => {
    if (p.display_name) state.names.set(key(p), p.display_name);
  }));
  for (const conversation of conversations) {
    const li = document.createElement("li");
    li.dataset.id = conversation.id;
    const others = (conversation.participants || []).map(who).join(", ");
    li.textContent = `#${conversation.id} ${conversation.title || conversation.type} - ${others}` +
      (conversation.unread ? ` (${conversation.unread})` : "");
    li.onclick = () => openConversation(conversation);
    list.append(li);
    (conversation.participants || []).forEach((p) => people.set(key(p), { role: p.role, id: p.id }));
  }
  // Who is online now; later changes arrive as `presence` events.
  state.socket.emit("presence:query", { principals: [...people.values()] }, (reply) => {
    if (reply && reply.ok) reply.principals.forEach(onPresence);
  });
}

function onEnvelope(name, envelope) {
  // Clients dedupe by envelope id: replay and live delivery may overlap.
  if (!envelope || typeof envelope.id !== "number") return logEvent(name, envelope);
  if (state.seen.has(envelope.id)) return;
  state.seen.add(envelope.id);
  state.lastEventId = Math.max(state.lastEventId, envelope.id);
  logEvent(name, envelope);
  const data = envelope.data || {};
  if (name === "message:created" && data.conversation_id === state.current) {
    showMessage(data);
    rest("POST", `/conversations/${state.current}/read`, { message_id: data.id }).catch(() => {});
  }
  if (["message:created", "conversation:created", "participant:added"].includes(name)) loadConversations();
}

function connect() {
  localStorage.setItem("demo.token", $("token").value.trim());
  localStorage.setItem("demo.api", $("api").value.trim());
  if (state.socket) state.socket.disconnect();
  const socket = io({ auth: (cb) => cb({ token: $("token").value.trim(), last_event_id: state.lastEventId || undefined }) });
  state.socket = socket;
  socket.on("connect", async () => {
    $("status").textContent = "connected";
    state.me = await rest("GET", "/me");
    $("me").textContent = who(state.me);
    await loadConversations();
  });
  socket.on("connect_error", (err) => { $("status").textContent = `refused: ${err.data ? err.data.code : err.message}`; });
  socket.on("disconnect", (reason) => { $("status").textContent = `disconnected (${reason})`; });
  socket.onAny((name, payload) => {
    if (name === "typing") return onTyping(payload);
    if (name === "presence") return onPresence(payload);
    onEnvelope(name, payload);
  });
}

function onTyping(payload) {
  const data = payload.data || payload;
  logEvent("typing", data);
  if (data.conversation_id !== state.current) return;
  $("typing").textContent = data.typing ? `${who(data.principal)} is typing...` : "";
}

function onPresence(payload) {
  const data = payload.data || payload;
  logEvent("presence", data);
  const id = key(data.principal);
  let li = document.querySelector(`#presence [data-key="${id}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.key = id;
    $("presence").append(li);
  }
  // `status` (online, away, dnd, offline) from gateways that have it.
  li.textContent = `${who(data.principal)} ${data.status || (data.online ? "online" : "offline")}`;
}

// Web Push: a service worker (sw.js) shows what the delivery worker pushes
// while no tab of ours is open. The browser's push service (Google's,
// Mozilla's, Apple's) must be reachable for pushes to arrive.
function urlBase64ToBytes(text) {
  const base64 = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

async function enablePush() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    $("push-status").textContent = "push not supported here";
    return;
  }
  const registration = await navigator.serviceWorker.register("sw.js");
  await navigator.serviceWorker.ready;
  $("push-status").textContent = "service worker ready";
  try {
    const { public_key: key } = await rest("GET", "/push/vapid-public-key");
    const subscription = await registration.pushManager.subscribe(
      { userVisibleOnly: true, applicationServerKey: urlBase64ToBytes(key) });
    const saved = await rest("POST", "/push/subscriptions", subscription.toJSON());
    $("push-status").textContent = `push on (subscription ${saved.id})`;
  } catch (err) {
    $("push-status").textContent = `push unavailable: ${err.message}`;
  }
}

$("connect").onclick = connect;
$("push-enable").onclick = () => enablePush().catch((err) => { $("push-status").textContent = `push failed: ${err}`; });
$("send").onsubmit = async (event) => {
  event.preventDefault();
  const body = $("body").value;
  if (!body.trim() || !state.current) return;
  $("body").value = "";
  const message = await rest("POST", `/conversations/${state.current}/messages`,
    { body, client_msg_id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) });
  showMessage(message);
  state.socket.emit("typing", { conversation_id: state.current, typing: false });
};
$("body").oninput = () => {
  if (!state.socket || !state.current) return;
  clearTimeout(state.typingTimer);
  state.socket.emit("typing", { conversation_id: state.current, typing: true });
  state.typingTimer = setTimeout(() => state.socket.emit("typing", { conversation_id: state.current, typing: false }), 2000);
};

if (params.get("autoconnect") === "1" && $("token").value) connect();
