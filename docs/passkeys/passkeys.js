// The browser half of lucia-webauthn: JSON options in, PublicKeyCredential.toJSON() out.
// Uses PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON /
// toJSON where the browser has them, and a small base64url fallback elsewhere.

const b64url = {
  decode(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
  },
  encode(buffer) {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

const withIds = (list) => (list || []).map((c) => ({ ...c, id: b64url.decode(c.id) }));

export function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  return {
    ...json,
    challenge: b64url.decode(json.challenge),
    user: { ...json.user, id: b64url.decode(json.user.id) },
    excludeCredentials: withIds(json.excludeCredentials),
  };
}

export function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  return { ...json, challenge: b64url.decode(json.challenge), allowCredentials: withIds(json.allowCredentials) };
}

export function credentialToJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const response = credential.response;
  const json = {
    id: credential.id,
    rawId: b64url.encode(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: b64url.encode(response.clientDataJSON) },
  };
  if (response.attestationObject) {
    json.response.attestationObject = b64url.encode(response.attestationObject);
    json.response.transports = response.getTransports ? response.getTransports() : [];
  } else {
    json.response.authenticatorData = b64url.encode(response.authenticatorData);
    json.response.signature = b64url.encode(response.signature);
    json.response.userHandle = response.userHandle ? b64url.encode(response.userHandle) : null;
  }
  return json;
}

export async function postJSON(url, body = {}) {
  const answer = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  const json = await answer.json();
  if (!answer.ok) throw new Error(json.error || answer.statusText);
  return json;
}

// Registration: POST {prefix}/begin gives options, POST {prefix}/finish takes the credential.
export async function createPasskey(prefix, extra = {}) {
  const begun = await postJSON(`${prefix}/begin`, extra);
  const credential = await navigator.credentials.create({ publicKey: creationOptions(begun.options) });
  return postJSON(`${prefix}/finish`, { ...extra, ...begun, options: undefined, credential: credentialToJSON(credential) });
}

// Sign-in; with { conditional: true } it waits for the user to pick a passkey from the
// autofill list of an <input autocomplete="username webauthn">. Pass an AbortSignal to
// cancel a waiting conditional request before starting another ceremony.
export async function getPasskey(prefix, { conditional = false, signal } = {}) {
  const begun = await postJSON(`${prefix}/begin`);
  const credential = await navigator.credentials.get({
    publicKey: requestOptions(begun.options),
    mediation: conditional ? "conditional" : "optional",
    signal,
  });
  return postJSON(`${prefix}/finish`, { credential: credentialToJSON(credential) });
}

export async function conditionalMediationAvailable() {
  return Boolean(window.PublicKeyCredential?.isConditionalMediationAvailable && (await PublicKeyCredential.isConditionalMediationAvailable()));
}
