// Sharing. The Share button of a feed card or item page calls navigator.share inside the tap
// (browsers require that user gesture) with the link and caption the page carries; only a
// completed share is reported to the server: a cancel (AbortError) records nothing. "Edit and
// share", or a tap where Web Share is missing, opens the share sheet over the page: a <dialog>
// that htmx fills with the share page's sheet. Without JavaScript, both buttons are links to
// the share page.

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
async function fetchFile(url, name) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${response.status} for ${url}`);
  const blob = await response.blob();
  return new File([blob], name, { type: blob.type || "image/jpeg" });
}

// The story image for Instagram and TikTok, fetched when the sheet opens: a file shared
// through Web Share must be in hand when the tap comes.
async function loadStory(sheet) {
  const link = sheet.querySelector("[data-share-story]");
  if (!link || !navigator.canShare) return;
  try {
    const file = await fetchFile(link.getAttribute("href"), link.getAttribute("download"));
    if (navigator.canShare({ files: [file] })) sheet.storyFile = file;
  } catch (error) {
    console.warn("Story image not available for sharing:", error);
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
    loadStory(sheet);
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

// ---------------------------------------------------------------- taps

document.addEventListener("input", (event) => {
  const sheet = event.target.closest("[data-share]");
  if (sheet && event.target.matches("[data-share-caption]")) updateLinks(sheet);
});

document.addEventListener("click", async (event) => {
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

  const story = event.target.closest("[data-share-story]");
  if (story) {
    // Instagram keeps no link in a caption: the image (its QR code) carries the link, and
    // the caption with the link is copied, ready to paste. Without file sharing, the
    // link downloads the image and the caption is copied all the same.
    const words = caption(sheet);
    const copied = navigator.clipboard
      ? navigator.clipboard.writeText(`${words}\n\n${sheet.dataset.url}`).then(() => true, () => false)
      : Promise.resolve(false);
    if (!sheet.storyFile) {
      if (await copied) toast(sheet.dataset.captionCopied);
      return; // the browser downloads the image
    }
    event.preventDefault();
    try {
      await navigator.share({ files: [sheet.storyFile] });
    } catch (error) {
      if (error && error.name === "AbortError") return;
      console.warn("Share failed:", error);
      return;
    }
    if (await copied) toast(sheet.dataset.captionCopied);
    await reportInSheet(sheet, "native_image");
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
