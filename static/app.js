// Relay's page script: the service worker, installing the app, small page behaviours.
// No inline script anywhere: the Content-Security-Policy forbids it.

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => {
    console.warn("Service worker not registered:", error);
  });
}

let deferredInstall = null;
const isStandalone = () =>
  window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
const isIos = () =>
  /iPad|iPhone|iPod/.test(navigator.userAgent) ||
  (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);

window.addEventListener("beforeinstallprompt", (event) => {
  event.preventDefault();
  deferredInstall = event;
  showInstall();
});

window.addEventListener("appinstalled", () => {
  deferredInstall = null;
  showInstall();
});

function showInstall() {
  const button = document.getElementById("install-button");
  if (button) button.hidden = !deferredInstall;
  const note = document.querySelector("[data-installed-note]");
  if (note) note.hidden = !isStandalone();
  const guide = document.getElementById("ios-install-guide");
  if (guide && isIos() && !isStandalone()) guide.open = true;
}

document.addEventListener("click", async (event) => {
  const install = event.target.closest("#install-button");
  if (install && deferredInstall) {
    deferredInstall.prompt();
    await deferredInstall.userChoice;
    deferredInstall = null;
    showInstall();
  }
  const reload = event.target.closest("[data-reload]");
  if (reload) {
    event.preventDefault();
    window.location.reload();
  }
});

// Move focus to the new content after a tab change, for screen readers and keyboards.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target && event.detail.target.id === "app") {
    document.getElementById("main")?.focus({ preventScroll: true });
  }
  showInstall();
});

document.addEventListener("DOMContentLoaded", showInstall);

// A request the server could not serve (the database unreachable…) names the problem in an
// HX-Trigger "relay:notice" event: htmx swaps no error response, so say it in the live region.
document.addEventListener("relay:notice", (event) => {
  const box = document.getElementById("toast");
  if (!box || !event.detail?.value) return;
  box.textContent = event.detail.value;
  box.hidden = false;
  clearTimeout(box.hideTimer);
  box.hideTimer = setTimeout(() => (box.hidden = true), 8000);
});
