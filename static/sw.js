// Relay's service worker. VERSION and PRECACHE are prepended by the server at /sw.js.
// Pages: network first, the last copy seen or the offline page when the network is gone.
// Hashed static files: cache first (a new content is a new URL).
// htmx fragments are never cached: they must not stand in for a page under its URL.

const SHELL_CACHE = `relay-shell-${VERSION}`;
const PAGE_CACHE = "relay-pages";
const OFFLINE_URL = "/offline";
const PAGE_CACHE_LIMIT = 40;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((key) => key.startsWith("relay-shell-") && key !== SHELL_CACHE)
            .map((key) => caches.delete(key)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  // Sent on sign-out: what this device kept of the member's pages goes with them.
  if (event.data && event.data.type === "forget-pages") {
    event.waitUntil(caches.delete(PAGE_CACHE));
  }
});

async function trimPages(cache) {
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - PAGE_CACHE_LIMIT))) {
    await cache.delete(key);
  }
}

async function pageNetworkFirst(request) {
  const cache = await caches.open(PAGE_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") {
      await cache.put(request, response.clone());
      trimPages(cache);
    }
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreVary: true });
    if (cached) return cached;
    const shell = await caches.open(SHELL_CACHE);
    return (await shell.match(OFFLINE_URL)) || Response.error();
  }
}

async function staticCacheFirst(request) {
  const shell = await caches.open(SHELL_CACHE);
  const cached = await shell.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await shell.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.headers.get("HX-Request")) return; // fragments: straight to the network
  if (request.mode === "navigate") {
    event.respondWith(pageNetworkFirst(request));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(staticCacheFirst(request));
  }
});

// --- Push notifications ------------------------------------------------------------------
// The payload is JSON from push/outbox.py: id (the delivery), title, body, url, icon, badge,
// image, tag. A tap focuses a Relay window (or opens one) on the target and reports the open.

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data ? event.data.text() : "" };
  }
  const options = { body: data.body || "", data: { url: data.url || "/", id: data.id || null } };
  for (const name of ["icon", "badge", "image", "tag"]) {
    if (data[name]) options[name] = data[name];
  }
  event.waitUntil(self.registration.showNotification(data.title || "Relay", options));
});

function sameSiteUrl(url) {
  const target = new URL(url || "/", self.location.origin);
  return target.origin === self.location.origin ? target.href : new URL("/", self.location.origin).href;
}

async function openTarget(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin !== self.location.origin) continue;
    try {
      await client.focus();
    } catch (error) {
      // Focusing needs the tap's activation; navigating the window is what matters.
    }
    try {
      if (client.url !== url) await client.navigate(url);
      return;
    } catch (error) {
      break; // an uncontrolled window cannot be navigated from here: open a new one
    }
  }
  await self.clients.openWindow(url);
}

async function reportOpen(id) {
  if (!id) return;
  try {
    await fetch("/push/opened", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id }),
      credentials: "same-origin",
    });
  } catch (error) {
    // Offline: the open is not counted, the member still gets where they wanted to go.
  }
}

function handleNotificationClick(notification) {
  notification.close();
  const data = notification.data || {};
  return Promise.all([openTarget(sameSiteUrl(data.url)), reportOpen(data.id)]);
}

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(handleNotificationClick(event.notification));
});

function fromBase64Url(text) {
  const padded = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// The push service renewed (or dropped) this device's subscription: subscribe again if
// needed and tell the server which device it replaces.
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(
    (async () => {
      const old = event.oldSubscription;
      if (!old) return;
      let fresh = event.newSubscription;
      if (!fresh) {
        const { key } = await fetch("/push/key", { credentials: "same-origin" }).then((r) => r.json());
        fresh = await self.registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: fromBase64Url(key),
        });
      }
      await fetch("/push/subscriptions/change", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ old_endpoint: old.endpoint, subscription: fresh.toJSON() }),
        credentials: "same-origin",
      });
    })(),
  );
});

// Test builds only (PUSH_ALLOWED_TEST_HOSTS set): browsers' automation cannot tap a system
// notification, so a test asks the worker to run the same click handler for one.
if (TEST_HOOKS) {
  self.addEventListener("message", (event) => {
    if (event.data && event.data.type === "test-notification-click") {
      event.waitUntil(
        self.registration
          .getNotifications({ tag: event.data.tag })
          .then((found) => Promise.all(found.map(handleNotificationClick))),
      );
    }
  });
}
