// The demo page's service worker: shows each Web Push as a notification.
// Pushes are small JSON (worker/push.py `push_payload`): title, body (null
// when the conversation is muted or previews are off), tag (one per
// conversation: a newer push replaces the older notification), url.
"use strict";

self.addEventListener("push", (event) => {
  let push = {};
  try {
    push = event.data ? event.data.json() : {};
  } catch (err) {
    push = { title: "New notification" };
  }
  const count = push.count > 1 ? ` (${push.count})` : "";
  event.waitUntil(self.registration.showNotification((push.title || "New notification") + count, {
    body: push.body || "",
    tag: push.tag || undefined,
    data: { url: push.url || "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data.url, self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((windows) => {
    const open = windows.find((w) => w.url.startsWith(self.location.origin));
    return open ? open.focus() : self.clients.openWindow(url);
  }));
});
