// A plain integration example for frontend authors: REST for every change,
// Socket.IO for everything live. Message bodies are always rendered as text.
import { connect as realtime } from "./client/realtime.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { rt: null, me: null, current: null, typingTimer: null, names: new Map() };

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
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    // The API's one error shape: {"error": {"code", "message", "details"}}.
    const error = data && data.error ? data.error : { code: "http_error", message: response.statusText };
    throw new Error(`${response.status} ${error.code}: ${error.message}`);
  }
  return data;
}

function showError(err) {
  $("error").textContent = err ? String(err.message || err) : "";
  $("error").hidden = !err;
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
  showError(null);
  state.current = conversation.id;
  document.querySelectorAll("#conversations li").forEach((li) => {
    li.classList.toggle("active", Number(li.dataset.id) === conversation.id);
  });
  $("conversation-title").textContent = `Conversation ${conversation.id} (${conversation.type})`;
  $("messages").textContent = "";
  $("body").disabled = $("send-button").disabled = false;
  const page = await rest("GET", `/conversations/${conversation.id}/messages?limit=50`);
  const items = page.messages || page.items || page;
  items.slice().reverse().forEach(showMessage);
  // Newest first: reading the conversation moves the read marker to its last message.
  if (items.length) await markRead(conversation.id, items[0].id);
  await loadConversations();
}

async function markRead(conversationId, messageId) {
  await rest("POST", `/conversations/${conversationId}/read`, { message_id: messageId });
}

function renderConversation(conversation) {
  const li = document.createElement("li");
  li.dataset.id = conversation.id;
  li.classList.toggle("active", conversation.id === state.current);
  const others = (conversation.participants || []).map(who).join(", ");
  const last = conversation.last_message;
  li.textContent = `#${conversation.id} ${conversation.title || conversation.type} - ${others}`;
  const preview = document.createElement("div");
  preview.className = "preview";
  preview.textContent = last ? (last.body === null ? "(deleted)" : last.body) : "";
  // The open conversation is being read: its count is 0 even before the read marker's POST lands.
  const unread = conversation.id === state.current ? 0 : conversation.unread || 0;
  li.dataset.unread = unread;
  const badge = document.createElement("span");
  badge.className = "unread";
  badge.textContent = unread ? ` (${unread})` : "";
  li.append(badge, preview);
  li.onclick = () => openConversation(conversation).catch(showError);
  return li;
}

async function loadConversations() {
  const page = await rest("GET", "/conversations?limit=50");
  const people = new Map();
  const conversations = page.conversations || page.items || page;
  conversations.forEach((c) => (c.participants || []).forEach((p) => {
    if (p.display_name) state.names.set(key(p), p.display_name);
    people.set(key(p), { role: p.role, id: p.id });
  }));
  $("conversations").replaceChildren(...conversations.map(renderConversation));
  // Who is online now; later changes arrive as `presence` events.
  const reply = await state.rt.emit("presence:query", { principals: [...people.values()] });
  if (reply && reply.ok) reply.principals.forEach(onPresence);
}

// Every event from the gateway; realtime.js has already dropped repeats (by envelope id) and put each
// conversation's events in seq order.
async function onEvent(envelope, name) {
  if (name === "typing") return onTyping(envelope);
  if (name === "presence") return onPresence(envelope);
  logEvent(name, envelope);
  const data = (envelope && envelope.data) || {};
  if (name === "message:created" && data.conversation_id === state.current) {
    showMessage(data);
    await markRead(state.current, data.id);
  }
  if (["message:created", "conversation:created", "participant:added"].includes(name)) await loadConversations();
}

function connect() {
  localStorage.setItem("demo.token", $("token").value.trim());
  localStorage.setItem("demo.api", $("api").value.trim());
  showError(null);
  if (state.rt) state.rt.close();
  const rt = realtime({
    url: location.origin,
    api: $("api").value.trim(),
    getToken: () => $("token").value.trim(),
    onError: (err) => console.warn("realtime:", err),
  });
  state.rt = rt;
  rt.on("connect", async () => {
    $("status").textContent = "connected";
    try {
      state.me = await rest("GET", "/me");
      $("me").textContent = who(state.me);
      await loadConversations();
    } catch (err) {
      showError(err);
    }
  });
  rt.on("error", (err) => {
    if (err.code) $("status").textContent = `refused: ${err.code}`;
    else if (err.error) showError(err);
  });
  rt.on("disconnect", ({ reason }) => { $("status").textContent = `disconnected (${reason})`; });
  rt.on("*", (envelope, name) => onEvent(envelope, name).catch(showError));
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

function typing(on) {
  if (state.rt && state.current) state.rt.emit("typing", { conversation_id: state.current, typing: on }).catch(() => {});
}

$("connect").onclick = connect;
$("push-enable").onclick = () => enablePush().catch((err) => { $("push-status").textContent = `push failed: ${err}`; });
$("send").onsubmit = async (event) => {
  event.preventDefault();
  const body = $("body").value;
  if (!body.trim() || !state.current) return;
  showError(null);
  $("body").value = "";
  try {
    const message = await rest("POST", `/conversations/${state.current}/messages`,
      { body, client_msg_id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) });
    showMessage(message);
  } catch (err) {
    $("body").value = body; // not sent: keep what the user wrote
    showError(err);
  }
  typing(false);
};
$("body").oninput = () => {
  clearTimeout(state.typingTimer);
  typing(true);
  state.typingTimer = setTimeout(() => typing(false), 2000);
};

if (params.get("autoconnect") === "1" && $("token").value) connect();
