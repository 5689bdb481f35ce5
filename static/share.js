// Sharing. The Share button of a feed card or item page calls navigator.share inside the tap
// (browsers require that user gesture) with the link and caption the page carries; only a
// completed share is reported to the server: a cancel (AbortError) records nothing. "Edit and
// share", a long press on Share, or a tap where Web Share is missing, opens the share sheet
// over the page: a <dialog> that htmx fills with the share page's sheet, whose story image
// and video are shared as files. Without JavaScript, both buttons are links to the share page.

import { postJSON } from "./relay.js";

const SHEET_TARGET = "#share-dialog-body";

function toast(message) {
  const box = document.getElementById("toast");
  if (!box || !message) return;
  box.classList.remove("toast--announce");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 4000);
}

// Say `message` in the polite live region without showing it there: the member sees it in
// the toast next to the card they tapped.
function announce(message) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.classList.add("toast--announce");
  box.hidden = false;
  box.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    box.hidden = true;
    box.classList.remove("toast--announce");
  }, 4000);
}

function cardToast(button, message) {
  const actions = button.closest(".share-actions");
  const box = actions && actions.nextElementSibling;
  if (!box || !box.matches("[data-card-toast]")) {
    toast(message);
    return;
  }
  box.textContent = message;
  box.hidden = false;
  announce(message);
  clearTimeout(box.timer);
  box.timer = setTimeout(() => (box.hidden = true), 5000);
}

// Tell the server a share completed; its answer says what it earned, in words.
async function report(item, network) {
  try {
    // keepalive: the report goes out even when the member leaves for the network's page.
    const answer = await postJSON(`/items/${item}/shares`, { network }, { keepalive: true });
    return answer.ok ? answer.data : null;
  } catch (error) {
    console.warn("Share not recorded:", error);
    return null;
  }
}

function thanks(prefix, data) {
  return data && data.message ? `${prefix} ${data.message}` : prefix;
}

async function reportInSheet(sheet, network) {
  const data = await report(sheet.dataset.item, network);
  const status = sheet.querySelector("[data-share-status]");
  if (data && status) {
    status.textContent = thanks(sheet.dataset.recorded, data);
    status.hidden = false;
  }
}

function caption(sheet) {
  const field = sheet.querySelector("[data-share-caption]");
  return field ? field.value.trim() : "";
}

function updateLinks(sheet) {
  const url = sheet.dataset.url;
  const title = sheet.dataset.title;
  const words = caption(sheet);
  const text = words ? `${words}\n\n${url}` : url;
  const enc = encodeURIComponent;
  const hrefs = {
    linkedin: `https://www.linkedin.com/sharing/share-offsite/?url=${enc(url)}`,
    x: `https://twitter.com/intent/tweet?url=${enc(url)}&text=${enc(words || title)}`,
    facebook: `https://www.facebook.com/sharer/sharer.php?u=${enc(url)}`,
    whatsapp: `https://wa.me/?text=${enc(text)}`,
    email: `mailto:?subject=${enc(title)}&body=${enc(text)}`,
  };
  for (const link of sheet.querySelectorAll("a[data-network]")) {
    link.href = hrefs[link.dataset.network];
  }
  const preview = sheet.querySelector("[data-preview-caption]");
  if (preview) preview.textContent = words;
}

// A file to share must be in hand before the tap: fetch it when the sheet opens.
async function fetchFile(url, name, type) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${response.status} for ${url}`);
  const blob = await response.blob();
  return new File([blob], name, { type: type || blob.type || "image/jpeg" });
}

// The story image and the video for Instagram and TikTok, fetched when the sheet opens (as
// sheet.storyFile and sheet.videoFile): a file shared through Web Share must be in hand when
// the tap comes. Only where files can be shared; a video not when the member saves data.
async function loadFiles(sheet) {
  if (!navigator.canShare) return;
  for (const link of sheet.querySelectorAll("[data-share-file]")) {
    const kind = link.dataset.shareFile;
    if (kind === "video" && navigator.connection && navigator.connection.saveData) continue;
    try {
      const file = await fetchFile(
        link.getAttribute("href"), link.getAttribute("download"), link.dataset.type
      );
      if (navigator.canShare({ files: [file] })) sheet[`${kind}File`] = file;
    } catch (error) {
      console.warn(`The ${kind} is not available for sharing:`, error);
    }
  }
}

function setUp(root) {
  const sheets = [...root.querySelectorAll("[data-share]:not([data-ready])")];
  if (root.matches && root.matches("[data-share]:not([data-ready])")) sheets.push(root);
  for (const sheet of sheets) {
    sheet.dataset.ready = "1";
    if (typeof navigator.share === "function") {
      sheet.querySelector("[data-share-native]").hidden = false;
    }
    updateLinks(sheet);
    loadFiles(sheet);
  }
}

// ---------------------------------------------------------------- the bottom sheet

let opener = null;

function openSheet(item, from) {
  const dialog = document.getElementById("share-dialog");
  if (!dialog || !window.htmx) return false;
  opener = from;
  window.htmx
    .ajax("GET", `/items/${item}/share`, { target: SHEET_TARGET, swap: "innerHTML" })
    .then(() => {
      if (!dialog.open) dialog.showModal();
      dialog.querySelector("[data-share-caption]")?.focus();
    });
  return true;
}

function setUpDialog() {
  const dialog = document.getElementById("share-dialog");
  if (!dialog || dialog.dataset.ready) return;
  dialog.dataset.ready = "1";
  // Focus goes back to the button that opened the sheet (Escape, Close or a swipe down).
  dialog.addEventListener("close", () => {
    const body = dialog.querySelector(SHEET_TARGET);
    if (body) body.replaceChildren();
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });
  let startY = null;
  dialog.addEventListener("touchstart", (event) => {
    startY = dialog.scrollTop === 0 ? event.touches[0].clientY : null;
  }, { passive: true });
  dialog.addEventListener("touchend", (event) => {
    if (startY !== null && event.changedTouches[0].clientY - startY > 80) dialog.close();
    startY = null;
  });
}

// ---------------------------------------------------------------- long press

// Holding a card's Share button opens the sheet, like "Edit and share" (which keyboard users
// have); moving the finger or scrolling cancels, and the click that ends the press shares
// nothing.
const LONG_PRESS_MS = 500;
const MOVE_SLOP = 10; // px a finger drifts without meaning to
let press = null;
let swallowUntil = 0;

function cancelPress() {
  if (press) clearTimeout(press.timer);
  press = null;
}

document.addEventListener("pointerdown", (event) => {
  cancelPress();
  const button = event.target.closest("[data-share-now]");
  if (!button || !event.isPrimary || event.button !== 0) return;
  const started = { button, x: event.clientX, y: event.clientY, fired: false };
  started.timer = setTimeout(() => {
    started.fired = true;
    openSheet(button.dataset.item, button);
  }, LONG_PRESS_MS);
  press = started;
});

document.addEventListener("pointermove", (event) => {
  if (press && !press.fired
      && Math.hypot(event.clientX - press.x, event.clientY - press.y) > MOVE_SLOP) {
    cancelPress();
  }
});

document.addEventListener("pointerup", () => {
  if (press && press.fired) swallowUntil = performance.now() + 800;
  cancelPress();
});
document.addEventListener("pointercancel", cancelPress);
document.addEventListener("scroll", () => { if (press && !press.fired) cancelPress(); },
  { capture: true, passive: true });
// No link menu over a held Share button (Android shows one for a long press on a link).
document.addEventListener("contextmenu", (event) => {
  if (event.target.closest("[data-share-now]") && (press || performance.now() < swallowUntil)) {
    event.preventDefault();
  }
});

// ---------------------------------------------------------------- taps

document.addEventListener("input", (event) => {
  const sheet = event.target.closest("[data-share]");
  if (sheet && event.target.matches("[data-share-caption]")) updateLinks(sheet);
});

document.addEventListener("click", async (event) => {
  if (performance.now() < swallowUntil) {
    // The click ending a long press: the sheet is open, nothing is shared.
    swallowUntil = 0;
    if (event.target.closest("[data-share-now], [data-share-edit]")) event.preventDefault();
    return;
  }
  const now = event.target.closest("[data-share-now]");
  if (now) {
    if (typeof navigator.share !== "function") {
      // No Web Share (a desktop): the sheet with the networks' links instead.
      if (openSheet(now.dataset.item, now)) event.preventDefault();
      return;
    }
    event.preventDefault();
    try {
      // Called synchronously in the tap's handler: the user gesture is still valid.
      await navigator.share({ title: now.dataset.title, text: now.dataset.caption, url: now.dataset.url });
    } catch (error) {
      if (error && error.name === "AbortError") return; // cancelled: nothing happened
      console.warn("Share failed:", error);
      return;
    }
    const data = await report(now.dataset.item, "native");
    const dialog = document.getElementById("share-dialog");
    cardToast(now, thanks(dialog ? dialog.dataset.recorded : "", data));
    return;
  }

  const edit = event.target.closest("[data-share-edit]");
  if (edit) {
    if (openSheet(edit.dataset.item, edit)) event.preventDefault();
    return;
  }

  const sheet = event.target.closest("[data-share]");
  if (!sheet) return;

  const use = event.target.closest("[data-use-caption]");
  if (use) {
    sheet.querySelector("[data-share-caption]").value = use.dataset.useCaption;
    updateLinks(sheet);
    return;
  }

  if (event.target.closest("[data-share-native]")) {
    const words = caption(sheet);
    try {
      await navigator.share({ title: sheet.dataset.title, text: words, url: sheet.dataset.url });
    } catch (error) {
      if (error && error.name === "AbortError") return;
      console.warn("Share failed:", error);
      return;
    }
    await reportInSheet(sheet, "native");
    return;
  }

  const post = event.target.closest("[data-share-file]");
  if (post) {
    // Instagram keeps no link in a caption: the image (its QR code) carries the link, and
    // the caption with the link is copied, ready to paste; a video likewise. Without file
    // sharing, the link downloads the file and the caption is copied all the same.
    const file = sheet[`${post.dataset.shareFile}File`];
    const words = caption(sheet);
    const copied = navigator.clipboard
      ? navigator.clipboard.writeText(`${words}\n\n${sheet.dataset.url}`).then(() => true, () => false)
      : Promise.resolve(false);
    if (!file) {
      if (await copied) toast(sheet.dataset.captionCopied);
      return; // the browser downloads the file
    }
    event.preventDefault();
    try {
      await navigator.share({ files: [file] });
    } catch (error) {
      if (error && error.name === "AbortError") return;
      console.warn("Share failed:", error);
      return;
    }
    if (await copied) toast(sheet.dataset.captionCopied);
    await reportInSheet(sheet, post.dataset.shareFile === "video" ? "native_video" : "native_image");
    return;
  }

  if (event.target.closest("[data-copy-link]")) {
    try {
      await navigator.clipboard.writeText(sheet.dataset.url);
      toast(sheet.dataset.copied);
      await reportInSheet(sheet, "copy");
    } catch (error) {
      console.warn("Copy failed:", error);
    }
    return;
  }

  const link = event.target.closest("a[data-network]");
  if (link) {
    // The link opens the network's own share page; we record that the member went there.
    reportInSheet(sheet, link.dataset.network);
  }
});

setUp(document);
setUpDialog();
document.addEventListener("htmx:load", (event) => {
  setUp(event.target);
  setUpDialog();
});

// ---------------------------------------------------------------- a link for one person

// A recommended friend's consent link works once: the member sends it in a private message,
// through the phone's share sheet, or one of the message links, or copies it.
function setUpSendLinks(root) {
  const boxes = [...root.querySelectorAll("[data-send-link]")];
  if (root.matches && root.matches("[data-send-link]")) boxes.push(root);
  for (const box of boxes) {
    const button = box.querySelector("[data-send-native]");
    if (button && typeof navigator.share === "function") button.hidden = false;
  }
}

async function copyMessage(box) {
  if (!navigator.clipboard) return false;
  try {
    await navigator.clipboard.writeText(`${box.dataset.text}\n\n${box.dataset.url}`);
    return true;
  } catch (error) {
    console.warn("Copy failed:", error);
    return false;
  }
}

document.addEventListener("click", async (event) => {
  const box = event.target.closest("[data-send-link]");
  if (!box) return;
  if (event.target.closest("[data-send-native]")) {
    try {
      await navigator.share({ title: box.dataset.title, text: box.dataset.text, url: box.dataset.url });
    } catch (error) {
      if (error && error.name !== "AbortError") console.warn("Share failed:", error);
      return;
    }
    box.querySelector("[data-send-status]").hidden = false;
    return;
  }
  if (event.target.closest("[data-copy-message]")) {
    if (await copyMessage(box)) toast(box.dataset.copied);
    return;
  }
  if (event.target.closest("[data-copy-first]")) {
    // LinkedIn takes no text in its link: the message is on the clipboard, ready to paste.
    if (await copyMessage(box)) toast(box.dataset.copied);
  }
});

setUpSendLinks(document);
document.addEventListener("htmx:load", (event) => setUpSendLinks(event.target));
