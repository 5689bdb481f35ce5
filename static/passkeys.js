// Passkey ceremonies in the browser: sign-in (button and autofill), enrolment, adding a
// passkey, and confirming it's you before a sensitive action. The server does the
// checking (py_webauthn); this only carries options and answers across.

import { fromBase64Url, postJSON, toBase64Url } from "./relay.js";

function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  return {
    ...json,
    challenge: fromBase64Url(json.challenge),
    user: { ...json.user, id: fromBase64Url(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: fromBase64Url(c.id) })),
  };
}

function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  return {
    ...json,
    challenge: fromBase64Url(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: fromBase64Url(c.id) })),
  };
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const response = {};
  for (const key of ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]) {
    if (credential.response[key]) response[key] = toBase64Url(credential.response[key]);
  }
  if (credential.response.getTransports) response.transports = credential.response.getTransports();
  return {
    id: credential.id,
    rawId: toBase64Url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment,
  };
}

function say(element, message) {
  const target = element.closest("[data-passkey-scope]")?.querySelector("[data-passkey-error]");
  if (!target) return;
  target.textContent = message || "";
  target.hidden = !message;
}

function problem(error, element) {
  // Cancelling the browser's dialog is a choice, not an error worth shouting about.
  if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
    return element.dataset.cancelled || "";
  }
  // The authenticator holds one of the passkeys the server listed in excludeCredentials:
  // this device already has a passkey for Relay, which is no failure to try again.
  if (error && error.name === "InvalidStateError" && element.dataset.exists) {
    return element.dataset.exists;
  }
  return element.dataset.failed || String(error);
}

async function getAssertion(optionsUrl, verifyUrl, extra, mediation, signal) {
  const started = await postJSON(optionsUrl);
  if (!started.ok) return started;
  const credential = await navigator.credentials.get({
    publicKey: requestOptions(started.data.publicKey),
    ...(mediation ? { mediation } : {}),
    ...(signal ? { signal } : {}),
  });
  return postJSON(verifyUrl, { ceremony: started.data.ceremony, credential: credentialJSON(credential), ...extra });
}

async function createPasskey(optionsUrl, verifyUrl) {
  const started = await postJSON(optionsUrl);
  if (!started.ok) return started;
  const credential = await navigator.credentials.create({ publicKey: creationOptions(started.data.publicKey) });
  return postJSON(verifyUrl, { ceremony: started.data.ceremony, credential: credentialJSON(credential) });
}

async function confirmIdentity() {
  return getAssertion("/me/confirm/options", "/me/confirm/verify");
}

let autofill = null;

async function signIn(button) {
  if (autofill) autofill.abort();
  button.disabled = true;
  say(button, "");
  try {
    const result = await getAssertion("/signin/options", "/signin/verify", { next: button.dataset.next || "/" });
    if (result.ok) window.location.assign(result.data.redirect);
    else say(button, result.data.error || result.data.detail);
  } catch (error) {
    say(button, problem(error, button));
  } finally {
    button.disabled = false;
  }
}

async function startAutofill() {
  // Right after signing out, don't offer to sign straight back in.
  if (new URLSearchParams(window.location.search).get("bye") === "1") return;
  const field = document.querySelector("input[autocomplete~='webauthn']");
  if (!field || !window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
  if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
  autofill = new AbortController();
  try {
    const result = await getAssertion("/signin/options", "/signin/verify", { next: field.dataset.next || "/" },
      "conditional", autofill.signal);
    if (result.ok) window.location.assign(result.data.redirect);
    else say(field, result.data.error || result.data.detail);
  } catch (error) {
    if (error.name !== "AbortError") say(field, problem(error, field));
  }
}

async function enrol(button) {
  button.disabled = true;
  say(button, "");
  try {
    const token = button.dataset.token;
    const result = await createPasskey(`/enrol/${token}/options`, `/enrol/${token}/verify`);
    if (result.ok) window.location.assign(result.data.redirect);
    else say(button, result.data.error || result.data.detail);
  } catch (error) {
    say(button, problem(error, button));
  } finally {
    button.disabled = false;
  }
}

async function addPasskey(button) {
  button.disabled = true;
  say(button, "");
  try {
    let result = await createPasskey("/me/passkeys/options", "/me/passkeys/verify");
    if (result.status === 428) {
      const confirmed = await confirmIdentity();
      if (!confirmed.ok) return say(button, confirmed.data.error || confirmed.data.detail);
      result = await createPasskey("/me/passkeys/options", "/me/passkeys/verify");
    }
    if (result.ok) window.location.assign(result.data.redirect);
    else say(button, result.data.error || result.data.detail);
  } catch (error) {
    say(button, problem(error, button));
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-passkey]");
  if (!button) return;
  const action = button.dataset.passkey;
  if (action === "signin") signIn(button);
  else if (action === "enrol") enrol(button);
  else if (action === "add") addPasskey(button);
});

// Forms for sensitive actions ask for a fresh passkey confirmation, then submit.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-confirm-passkey]");
  if (!form || form.dataset.confirmed === "yes") return;
  event.preventDefault();
  try {
    const confirmed = await confirmIdentity();
    if (!confirmed.ok) return say(form, confirmed.data.error || confirmed.data.detail);
    form.dataset.confirmed = "yes";
    form.requestSubmit();
  } catch (error) {
    say(form, problem(error, form));
  }
});

// After signing out, this device forgets the pages it kept for offline use.
if (new URLSearchParams(window.location.search).get("bye") === "1" && navigator.serviceWorker?.controller) {
  navigator.serviceWorker.controller.postMessage({ type: "forget-pages" });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAutofill);
else startAutofill();
