// Signing in the browser: keys, disclosures, statements and login.
//
// The private key is created here with WebCrypto Ed25519 as a non-extractable
// CryptoKey and kept in this browser's IndexedDB: it never leaves the browser,
// and the server only ever sees signatures. The byte formats are those of
// docs/entry.md: key ids, domain-separated signatures, salted disclosures.

import { canonicalBytes } from "./jcs.js";
import { _ } from "./i18n.js";

const enc = new TextEncoder();
const DB = "trackrecord";
const STORE = "keys";

export function b64(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export async function keyIdOf(publicRaw) {
  const digest = await sha256(concat(enc.encode("trackrecord:key-id:v1\0"), publicRaw));
  return "ed25519:" + hex(digest).slice(0, 32);
}

// -- key storage (IndexedDB) ----------------------------------------------------------
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function dbDo(mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}

export async function loadKey() {
  return (await dbDo("readonly", (s) => s.get("me"))) || null;
}

export async function createKey(person) {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const record = {
    person,
    privateKey: pair.privateKey,
    publicKey: b64(publicRaw),
    keyId: await keyIdOf(publicRaw),
  };
  await dbDo("readwrite", (s) => s.put(record, "me"));
  return record;
}

export async function forgetKey() {
  await dbDo("readwrite", (s) => s.delete("me"));
}

// -- signing --------------------------------------------------------------------------
export async function signFor(purpose, payload, key) {
  const message = concat(enc.encode(`trackrecord:v1:${purpose}\0`), payload);
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, message));
}

export async function disclose(field, value) {
  const salt = hex(crypto.getRandomValues(new Uint8Array(16)));
  const disclosure = [salt, field, value];
  const digest = await sha256(concat(enc.encode("trackrecord:disclosure:v1\0"), canonicalBytes(disclosure)));
  return { disclosure, digest: hex(digest) };
}

export function timestamp(date = new Date()) {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

// Build, commit and sign a statement addressed to the ledger named `ledger` (its checkpoint
// origin; docs/entry.md §3); returns the submission {statement, signature, disclosures}.
export async function signStatement(key, ledger, type, subject, body, personal = {}) {
  const clear = { ...body };
  const disclosures = [];
  const commitments = {};
  for (const [field, value] of Object.entries(personal)) {
    if (value === undefined || value === null || value === "") continue;
    const d = await disclose(field, value);
    disclosures.push(d.disclosure);
    commitments[field] = d.digest;
  }
  if (disclosures.length) clear.commitments = commitments;
  const statement = {
    type,
    id: crypto.randomUUID(),
    subject,
    author: key.keyId,
    issued_at: timestamp(),
    ledger,
    body: clear,
  };
  const signature = await signFor("statement", canonicalBytes(statement), key);
  return { statement, signature: b64(signature), disclosures };
}

// -- talking to the service -------------------------------------------------------------
export async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const problem = typeof data === "object" ? data : { detail: String(data), code: "error" };
    const error = new Error(`${problem.code}: ${problem.detail}`);
    error.problem = problem;
    throw error;
  }
  return data;
}

// The name of the ledger this page talks to (GET /log), which every statement names.
let origin = null;
export async function ledgerOrigin() {
  if (origin === null) {
    const log = await api("GET", "/log");
    if (!log.origin) throw new Error(_("This ledger has no name yet: nothing can be signed for it."));
    origin = log.origin;
  }
  return origin;
}

export async function submit(key, type, subject, body, personal) {
  const ledger = await ledgerOrigin();
  return api("POST", "/statements", await signStatement(key, ledger, type, subject, body, personal));
}

export async function login(key) {
  const challenge = await api("POST", "/auth/challenge");
  const signature = await signFor("challenge", enc.encode(challenge.challenge), key);
  return api("POST", "/auth/session", {
    key_id: key.keyId,
    nonce: challenge.nonce,
    signature: b64(signature),
  });
}

export async function logout() {
  return fetch("/auth/session", { method: "DELETE", credentials: "same-origin" });
}

// -- page helpers -------------------------------------------------------------------------
export function say(text, isError = false) {
  const box = document.getElementById("status");
  if (!box) return;
  box.textContent = text;
  box.className = isError ? "status error" : "status ok";
}

// Show ``message`` next to ``input`` (created after it once), mark the input invalid and
// move focus there; an empty message clears it.
export function fieldError(input, message) {
  const id = `${input.id || input.name}-error`;
  let note = document.getElementById(id);
  if (!message) {
    note?.remove();
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    return;
  }
  if (!note) {
    note = document.createElement("p");
    note.id = id;
    note.className = "field-error error";
    (input.closest("label") || input).after(note);
  }
  note.textContent = message;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
  input.focus();
}

export function guard(fn) {
  return async (event) => {
    if (event) event.preventDefault();
    try {
      await fn(event);
    } catch (error) {
      say(error.message, true);
    }
  };
}
