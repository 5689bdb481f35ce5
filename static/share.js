// One-tap sharing. The share button calls navigator.share inside the click handler (browsers
// require that user gesture); only a completed share is reported to the server: a cancel
// (AbortError) records nothing. Without Web Share, the sheet's links do the work.

import { postJSON } from "./relay.js";

function toast(message) {
  const box = document.getElementById("toast");
  if (!box || !message) return;
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 4000);
}

async function report(sheet, network) {
  const status = sheet.querySelector("[data-share-status]");
  try {
    // keepalive: the report goes out even when the member leaves for the network's page.
    const answer = await postJSON(`/items/${sheet.dataset.item}/shares`, { network }, { keepalive: true });
    if (answer.ok && status) {
      // "Thanks for sharing! +2 points": the server says what the share earned, in words.
      status.textContent = answer.data.message
        ? `${sheet.dataset.recorded} ${answer.data.message}`
        : sheet.dataset.recorded;
      status.hidden = false;
    }
  } catch (error) {
    console.warn("Share not recorded:", error);
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
}

let imageFile = null;

async function loadImage(sheet) {
  if (!sheet.dataset.image || !navigator.canShare) return;
  try {
    const response = await fetch(sheet.dataset.image, { credentials: "same-origin" });
    const blob = await response.blob();
    const file = new File([blob], "relay.jpg", { type: "image/jpeg" });
    if (navigator.canShare({ files: [file] })) {
      imageFile = file;
      sheet.querySelector("[data-share-image]").hidden = false;
      sheet.querySelector("[data-share-image-hint]").hidden = false;
    }
  } catch (error) {
    console.warn("Image not available for sharing:", error);
  }
}

function setUp(root) {
  for (const sheet of root.querySelectorAll("[data-share]:not([data-ready])")) {
    sheet.dataset.ready = "1";
    if (typeof navigator.share === "function") {
      sheet.querySelector("[data-share-native]").hidden = false;
    }
    updateLinks(sheet);
    loadImage(sheet);
  }
}

document.addEventListener("input", (event) => {
  const sheet = event.target.closest("[data-share]");
  if (sheet && event.target.matches("[data-share-caption]")) updateLinks(sheet);
});

document.addEventListener("click", async (event) => {
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
      // Called synchronously in the click handler: the user gesture is still valid.
      await navigator.share({ title: sheet.dataset.title, text: words, url: sheet.dataset.url });
    } catch (error) {
      if (error && error.name === "AbortError") return; // cancelled: nothing happened
      console.warn("Share failed:", error);
      return;
    }
    await report(sheet, "native");
    return;
  }

  if (event.target.closest("[data-share-image]") && imageFile) {
    const words = caption(sheet);
    const copied = navigator.clipboard
      ? navigator.clipboard.writeText(`${words}\n\n${sheet.dataset.url}`).catch(() => {})
      : Promise.resolve();
    try {
      await navigator.share({ files: [imageFile] });
    } catch (error) {
      if (error && error.name === "AbortError") return;
      console.warn("Share failed:", error);
      return;
    }
    await copied;
    toast(sheet.dataset.captionCopied);
    await report(sheet, "native_image");
    return;
  }

  if (event.target.closest("[data-copy-link]")) {
    try {
      await navigator.clipboard.writeText(sheet.dataset.url);
      toast(sheet.dataset.copied);
      await report(sheet, "copy");
    } catch (error) {
      console.warn("Copy failed:", error);
    }
    return;
  }

  const link = event.target.closest("a[data-network]");
  if (link) {
    // The link opens the network's own share page; we record that the member went there.
    report(sheet, link.dataset.network);
  }
});

setUp(document);
document.addEventListener("htmx:load", (event) => setUp(event.target));
