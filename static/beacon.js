// The landing page's beacon: tells Relay a real browser showed the page (a genuine click).
// The token in the page is signed, short-lived and bound to this link and visitor.
const mark = document.querySelector("[data-beacon]");

function send() {
  const body = new URLSearchParams({ token: mark.dataset.beaconToken });
  // A link from a shared image's QR code says so (?via=qr): the click counts the same.
  const via = new URLSearchParams(window.location.search).get("via");
  if (via) body.set("via", via);
  if (!navigator.sendBeacon || !navigator.sendBeacon(mark.dataset.beacon, body)) {
    fetch(mark.dataset.beacon, { method: "POST", body, keepalive: true, credentials: "same-origin" }).catch(() => {});
  }
}

if (mark) {
  // A page prerendered or opened in a background tab counts once someone looks at it.
  if (document.visibilityState === "visible") {
    send();
  } else {
    document.addEventListener("visibilitychange", function onVisible() {
      if (document.visibilityState === "visible") {
        document.removeEventListener("visibilitychange", onVisible);
        send();
      }
    });
  }
}
