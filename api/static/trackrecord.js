// Signing in the browser: keys, disclosures, statements and login.
//
// The private key is created here with WebCrypto Ed25519 as a non-extractable
// CryptoKey and kept in this browser's IndexedDB: it never leaves the browser,
// and the server only ever sees signatures. The byte formats are those of
// docs/entry.md: key ids, domain-separated signatures, salted disclosures.

import { canonicalBytes } from "./jcs.js";
import { _, format } from "./i18n.js";

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
// A refusal throws an Error in the user's words (explain()) carrying the problem document
// (error.problem) and its rule code (error.code).
export async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw refusal(typeof data === "object" ? data : { detail: String(data), code: "error" });
  return data;
}

// The Error for a problem document.
export function refusal(problem) {
  const error = new Error(explain(problem));
  error.problem = problem;
  error.code = problem.code;
  return error;
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
function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

// Each rule code in the user's words, in the page's language (api/wording.py RULES, the one
// place that maps them; rendered into the page by base.html).
const RULES = readJson("rule-messages");

// A refusal in the user's words: the sentence for its rule code, else the service's detail.
export function explain(problem, values = {}) {
  const text = RULES[problem.code];
  return text ? format(text, values) : problem.detail || problem.code;
}

// An error that belongs to one field of a form: shown next to it, which takes focus.
export class FieldError extends Error {
  constructor(input, message, code) {
    super(message);
    this.input = input;
    this.code = code;
  }
}

function ruleCode(code) {
  const small = document.createElement("small");
  small.className = "rule-code";
  small.textContent = _("code: %(code)s", { code });
  return small;
}

// The page's status line (top of the page): successes, and errors that belong to no form.
export function say(text, isError = false, code) {
  const box = document.getElementById("status");
  if (!box) return;
  box.textContent = text;
  if (code) box.append(" ", ruleCode(code));
  box.className = isError ? "status error" : "status ok";
}

// Show ``message`` next to ``input`` (created after it once), mark the input invalid and
// move focus there; an empty message clears it.
export function fieldError(input, message, code) {
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
  if (code) note.append(" ", ruleCode(code));
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
  input.focus();
}

// Show ``message`` at the end of ``form`` (an error of the form as a whole) and focus it.
export function formError(form, message, code) {
  let note = form.querySelector(":scope > .form-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "form-error error";
    note.setAttribute("role", "alert");
    note.tabIndex = -1;
    form.append(note);
  }
  note.textContent = message;
  if (code) note.append(" ", ruleCode(code));
  note.focus();
}

function clearErrors(form) {
  if (!form) return;
  for (const input of form.querySelectorAll("[aria-invalid]")) fieldError(input, "");
  form.querySelector(":scope > .form-error")?.remove();
}

// The header after the session ended: no longer "Logged in as".
function sessionEnded() {
  const who = document.querySelector("header .who");
  if (who) who.textContent = _("Not logged in");
  document.body.dataset.person = "";
}

// An event handler that shows what went wrong where it went wrong: a FieldError, or a
// refusal whose rule code ``fields`` maps to a field name (or whose problem names the
// field), next to that field; any other error of a form at the end of the form; else in
// the status line. The rule code is shown in small print, for support.
export function guard(fn, fields = {}) {
  return async (event) => {
    if (event?.type === "submit") event.preventDefault();
    const form = event?.target instanceof Element ? event.target.closest("form") : null;
    clearErrors(form);
    try {
      await fn(event);
    } catch (error) {
      const code = error.code;
      const named = fields[code] || error.problem?.field;
      const input = error.input || (form && named ? form.elements[named] : null);
      if (input) fieldError(input, error.message, code);
      else if (form) formError(form, error.message, code);
      else say(error.message, true, code);
      if (code === "session_expired" || code === "unauthenticated") sessionEnded();
    }
  };
}

// After a change: reload the page (to show the new state) and show ``message`` there, at
// the top of the section ``form`` is in, which takes focus; and in the status line.
const FLASH = "trackrecord-flash";

export function reloadWith(form, message) {
  const section = form?.closest("section[aria-labelledby]");
  const heading = section?.getAttribute("aria-labelledby") || null;
  sessionStorage.setItem(FLASH, JSON.stringify({ section: heading, message }));
  // In a page of tabs (tabs.js), come back to the tab the change was made in.
  const tab = section?.hasAttribute("data-tab") ? section.getAttribute("aria-labelledby").replace(/-heading$/, "") : null;
  if (tab) history.replaceState(null, "", `#tab-${tab}`);
  location.reload();
}

function showFlash() {
  const kept = sessionStorage.getItem(FLASH);
  if (!kept) return;
  sessionStorage.removeItem(FLASH);
  const { section, message } = JSON.parse(kept);
  say(message);
  const heading = section ? document.getElementById(section) : null;
  if (!heading) return;
  const note = document.createElement("p");
  note.className = "success ok";
  note.setAttribute("role", "status");
  note.tabIndex = -1;
  note.textContent = message;
  heading.after(note);
  note.focus();
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", showFlash);
  else showFlash();
}

// -- skills -------------------------------------------------------------------------------
// A skills field: the taxonomy's skills are offered by their label in the page's language
// (<datalist id="skill-list">, api/templates/skills.html), one after the other, separated by
// commas; returns the function that gives the slugs chosen (what is signed). A label (in
// any letter case, with spaces or hyphens) or a slug of the list is that skill; any other
// name becomes a skill of its own, as the ledger allows ("Samenwerken" → samenwerken); a
// name with no letter or digit throws a FieldError.
const plain = (text) => text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
const squeezed = (text) => plain(text).replace(/[^a-z0-9]+/g, "");
const slugOf = (text) => plain(text).replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48).replace(/-+$/, "");

export function skillField(input) {
  const list = document.getElementById(input.getAttribute("list"));
  const skills = [...(list?.options || [])].map((o) => ({ label: o.value, slug: o.dataset.slug }));
  input.addEventListener("input", () => {
    const cut = input.value.lastIndexOf(",");
    const before = cut < 0 ? "" : `${input.value.slice(0, cut + 1)} `;
    list?.replaceChildren(
      ...skills.map((s) => Object.assign(document.createElement("option"), { value: before + s.label })),
    );
  });
  return () => {
    const slugs = new Set();
    for (const typed of input.value.split(",").map((x) => x.trim()).filter(Boolean)) {
      const known = skills.find((s) => squeezed(s.label) === squeezed(typed) || s.slug === typed.toLowerCase());
      const slug = known ? known.slug : slugOf(typed);
      if (!slug) throw new FieldError(input, explain({ code: "unknown_skill" }, { skill: typed }), "unknown_skill");
      slugs.add(slug);
    }
    return [...slugs];
  };
}
