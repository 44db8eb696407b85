// Passkey ceremonies for the sign-in and security-info pages. WebAuthn needs JavaScript;
// everything else on these pages works without it.
(function () {
  const b64u = {
    decode(s) {
      s = s.replace(/-/g, "+").replace(/_/g, "/");
      while (s.length % 4) s += "=";
      return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)).buffer;
    },
    encode(buf) {
      let s = "";
      new Uint8Array(buf).forEach((b) => (s += String.fromCharCode(b)));
      return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };
  async function post(url, body) {
    const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.detail || r.statusText);
    return data;
  }
  function credentialJson(c) {
    const out = { id: c.id, rawId: b64u.encode(c.rawId), type: c.type, extensions: c.getClientExtensionResults ? c.getClientExtensionResults() : {} };
    const r = c.response;
    out.response = { clientDataJSON: b64u.encode(r.clientDataJSON) };
    if (r.attestationObject) out.response.attestationObject = b64u.encode(r.attestationObject);
    if (r.authenticatorData) out.response.authenticatorData = b64u.encode(r.authenticatorData);
    if (r.signature) out.response.signature = b64u.encode(r.signature);
    if (r.userHandle) out.response.userHandle = b64u.encode(r.userHandle);
    return out;
  }
  const signIn = document.getElementById("passkey-sign-in");
  if (signIn) {
    signIn.addEventListener("click", async () => {
      try {
        const begin = await post("/api/v1/auth/passkey/begin", {});
        const pk = begin.publicKey.publicKey;
        pk.challenge = b64u.decode(pk.challenge);
        (pk.allowCredentials || []).forEach((c) => (c.id = b64u.decode(c.id)));
        const cred = await navigator.credentials.get({ publicKey: pk });
        await post("/api/v1/auth/passkey/finish", { signInId: begin.signInId, credential: credentialJson(cred), cookie: true });
        // The server only writes checked paths here; this is a second line of defence.
        const next = new URL(signIn.dataset.next || "/", window.location.origin);
        window.location.assign(next.origin === window.location.origin ? next.href : "/");
      } catch (e) {
        alert("Passkey sign-in failed: " + e.message);
      }
    });
  }
  const register = document.getElementById("passkey-register");
  if (register) {
    register.addEventListener("click", async () => {
      try {
        const csrf = register.dataset.csrf;
        const begin = await post("/account/passkeys/begin", { csrf });
        const pk = begin.publicKey.publicKey;
        pk.challenge = b64u.decode(pk.challenge);
        pk.user.id = b64u.decode(pk.user.id);
        (pk.excludeCredentials || []).forEach((c) => (c.id = b64u.decode(c.id)));
        const cred = await navigator.credentials.create({ publicKey: pk });
        await post("/account/passkeys/finish", { csrf, handle: begin.handle, label: "Passkey", credential: credentialJson(cred) });
        window.location.reload();
      } catch (e) {
        alert("Passkey registration failed: " + e.message);
      }
    });
  }
})();
