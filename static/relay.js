// What every page script needs to talk to Relay's server: the CSRF token, a JSON POST, and
// base64url (the encoding of the binary fields in passkey options and of the push key).
// An ES module: the scripts import it as "./relay.js", which the server rewrites to its
// hashed URL (app/web/assets.py). The service worker keeps its own copy of base64url: it is
// a classic worker, which cannot import modules.

// The token htmx sends with every request, from the <body hx-headers> of the page.
export function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["x-csrftoken"];
  } catch {
    return "";
  }
}

// POST `body` as JSON; the answer is { ok, status, data } whatever the status, with `data`
// the JSON the server sent ({} when none). `options` adds to the fetch (keepalive…).
export async function postJSON(url, body, options = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "x-csrftoken": csrfToken() },
    body: JSON.stringify(body || {}),
    credentials: "same-origin",
    ...options,
  });
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, data };
}

export function fromBase64Url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

export function toBase64Url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
