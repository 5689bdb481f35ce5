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

// Rows that scroll sideways (filter chips, sub-menus): the current one scrolled into view
// (only the row moves, never the page), and a fade on each edge where more is cut off.
const SCROLL_ROWS = ".chips, .subnav";

function markScrollRow(row) {
  const more = row.scrollWidth - row.clientWidth;
  row.classList.toggle("scroll-row--start", row.scrollLeft > 2);
  row.classList.toggle("scroll-row--end", more - row.scrollLeft > 2);
}

function settleScrollRows(root = document) {
  root.querySelectorAll(SCROLL_ROWS).forEach((row) => {
    const current = row.querySelector('[aria-current="page"], [aria-current="true"]');
    if (current) {
      const left = current.getBoundingClientRect().left - row.getBoundingClientRect().left + row.scrollLeft;
      const centred = left - (row.clientWidth - current.offsetWidth) / 2;
      row.scrollLeft = Math.max(0, Math.min(centred, row.scrollWidth - row.clientWidth));
    }
    markScrollRow(row);
  });
}

document.addEventListener(
  "scroll",
  (event) => {
    if (event.target instanceof Element && event.target.matches(SCROLL_ROWS)) markScrollRow(event.target);
  },
  true,
);
document.addEventListener("DOMContentLoaded", () => settleScrollRows());
document.addEventListener("htmx:afterSettle", () => settleScrollRows());
window.addEventListener("resize", () => settleScrollRows());

// Handing over a link (an enrolment link): copy it, or send it through the phone's share
// sheet. Each button shows only where the browser can do what it says.
function setUpLinkActions(root = document) {
  root.querySelectorAll("[data-link-actions]").forEach((box) => {
    const copy = box.querySelector("[data-link-copy]");
    const share = box.querySelector("[data-link-share]");
    if (copy) copy.hidden = !navigator.clipboard;
    if (share) share.hidden = typeof navigator.share !== "function";
  });
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-link-copy], [data-link-share]");
  if (!button) return;
  const box = button.closest("[data-link-actions]");
  const status = box.parentElement.querySelector("[data-link-status]");
  const { url, title, text } = box.dataset;
  if (button.matches("[data-link-copy]")) {
    try {
      await navigator.clipboard.writeText(url);
      if (status) status.textContent = box.dataset.copied;
    } catch {
      if (status) status.textContent = box.dataset.copyFailed;
    }
    return;
  }
  try {
    await navigator.share({ title, text, url });
  } catch (error) {
    if (!error || error.name !== "AbortError") console.warn("Share failed:", error);
  }
});

document.addEventListener("DOMContentLoaded", () => setUpLinkActions());
document.addEventListener("htmx:afterSettle", () => setUpLinkActions());
