// Passkeys need the browser's WebAuthn API: this is the demo's only script, and every
// other page works without it. Each ceremony is two POSTs: one for the options (the
// server keeps the challenge, in a cookie this script cannot read), one for the answer.
// The WebAuthn plumbing (JSON <-> ArrayBuffer, with fallbacks for older browsers) is the
// passkeys guide's module, docs/passkeys/passkeys.js, served as /static/webauthn.js.
import { creationOptions, credentialToJSON, postJSON, requestOptions } from "/static/webauthn.js";

function show(container, error) {
  const box = container.querySelector("[data-passkey-error]");
  // NotAllowedError: the person cancelled, or the authenticator timed out.
  box.textContent =
    error.name === "NotAllowedError" ? "The passkey request was cancelled or timed out." : error.message;
  box.hidden = false;
}

async function addPasskey(form) {
  const options = await postJSON("/passkeys/register/options");
  const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
  const result = await postJSON("/passkeys/register", {
    name: form.elements.name.value,
    credential: credentialToJSON(credential),
  });
  location.assign(result.redirect);
}

async function signIn(button) {
  const options = await postJSON("/sign-in/passkey/options");
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
  const remember = document.querySelector("input[name=remember]");
  const result = await postJSON("/sign-in/passkey", {
    credential: credentialToJSON(credential),
    next: button.dataset.next,
    remember: Boolean(remember && remember.checked),
  });
  location.assign(result.redirect);
}

for (const container of document.querySelectorAll("[data-passkeys]")) {
  container.querySelector("[data-passkey-no-script]").hidden = true; // this script runs, so say nothing
  if (!window.PublicKeyCredential) {
    container.querySelector("[data-passkey-unsupported]").hidden = false;
    continue;
  }
  const form = container.querySelector("[data-passkey-add]");
  if (form) {
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      addPasskey(form).catch((error) => show(container, error));
    });
  }
  const button = container.querySelector("[data-passkey-sign-in]");
  if (button) {
    button.hidden = false;
    button.addEventListener("click", () => signIn(button).catch((error) => show(container, error)));
  }
}
