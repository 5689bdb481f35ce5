// Push opt-in: offered in context, asked only after a tap, never on page load.
// The offer shows where push is possible and this device is not subscribed yet; on an
// iPhone or iPad outside the installed app, the tap opens the Add-to-Home-Screen guide
// instead (iOS allows push only there).

import { fromBase64Url, postJSON } from "./relay.js";

const isStandalone = () =>
  window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
const isIos = () =>
  /iPad|iPhone|iPod/.test(navigator.userAgent) ||
  (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
const pushPossible = () => "serviceWorker" in navigator && "PushManager" in window;

async function currentSubscription() {
  if (!pushPossible()) return null;
  const registration = await navigator.serviceWorker.ready;
  return registration.pushManager.getSubscription();
}

async function showOffers() {
  const offers = document.querySelectorAll("[data-push-offer]");
  if (!offers.length) return;
  let show = false;
  if (isIos() && !isStandalone()) {
    show = true; // the tap leads to the Home Screen guide
  } else if (pushPossible() && Notification.permission !== "denied") {
    show = !(await currentSubscription());
  }
  offers.forEach((offer) => {
    offer.hidden = !show;
  });
}

async function subscribe(button) {
  const scope = button.closest("[data-push-offer]");
  const status = scope.querySelector("[data-push-status]");
  const say = (text) => {
    status.textContent = text;
  };
  if (isIos() && !isStandalone()) {
    say(button.dataset.install);
    const guide = document.getElementById("ios-install-guide");
    if (guide) {
      guide.open = true;
      guide.scrollIntoView({ block: "center" });
    } else {
      window.location.href = "/me#ios-install-guide";
    }
    return;
  }
  button.disabled = true;
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      say(button.dataset.denied);
      return;
    }
    const { key } = await fetch("/push/key", { headers: { Accept: "application/json" } }).then((r) => r.json());
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: fromBase64Url(key),
    });
    const body = subscription.toJSON ? subscription.toJSON() : subscription;
    const saved = await postJSON("/push/subscriptions", {
      endpoint: body.endpoint,
      keys: body.keys,
      time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    });
    if (!saved.ok) throw new Error(saved.data.error || saved.data.detail || String(saved.status));
    say(button.dataset.done);
    button.hidden = true;
  } catch (error) {
    console.warn("Push subscription failed:", error);
    say(error.message && !/^\d+$/.test(error.message) ? error.message : button.dataset.failed);
  } finally {
    button.disabled = false;
  }
}

// The time zone picker: the browser's own zone suggested first (and taken while the member
// has not chosen one), and the search box filtering the zones as one types.
function detectTimeZone() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("select[data-time-zone]").forEach((select) => {
    if (select.dataset.detected) return;
    select.dataset.detected = "1";
    const known = [...select.options].some((option) => option.value === zone);
    if (!known) return;
    const suggested = select.querySelector("[data-zone-suggested]");
    if (suggested && ![...suggested.children].some((option) => option.value === zone)) {
      const option = new Option(suggested.dataset.browserLabel.replace("%(zone)s", zone), zone);
      suggested.append(option);
    }
    if (select.dataset.stored !== "1") select.value = zone;
  });
}

const folded = (text) =>
  text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/_/g, " ").toLowerCase();

document.addEventListener("input", (event) => {
  const find = event.target.closest("[data-zone-find]");
  if (!find) return;
  const select = document.getElementById(find.getAttribute("aria-controls"));
  if (!select) return;
  const needle = folded(find.value.trim());
  select.querySelectorAll("optgroup").forEach((group) => {
    let shown = 0;
    group.querySelectorAll("option").forEach((option) => {
      const match = group.matches("[data-zone-suggested]") || !needle ||
        folded(`${option.value} ${option.textContent}`).includes(needle);
      option.hidden = !match;
      if (match) shown += 1;
    });
    group.hidden = shown === 0;
  });
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-push='subscribe']");
  if (button) subscribe(button);
});

function refresh() {
  showOffers().catch((error) => console.warn("Push offer:", error));
  detectTimeZone();
}

document.addEventListener("htmx:afterSettle", refresh);
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", refresh);
else refresh();
