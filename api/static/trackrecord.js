// Signing in the browser: keys, disclosures, statements and login.
//
// The private key is created here with WebCrypto Ed25519 and kept in this browser's
// IndexedDB only wrapped under a passphrase (PBKDF2-SHA-256, 600,000 iterations, then
// AES-256-GCM: docs/onboarding.md §6): it never leaves the browser unwrapped, the server
// only ever sees signatures, and someone at this browser without the passphrase signs
// nothing. Unlocked, it is a non-extractable CryptoKey; logged in, it stays unlocked for
// the session (kept in IndexedDB as that CryptoKey, never as bytes) until logout, the
// session's end or 15 minutes without a signature ("staying unlocked" below). The byte formats are those of docs/entry.md: key ids,
// domain-separated signatures, salted disclosures.

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

// Create a key for ``person``, protected by a passphrase asked for now, and keep it.
export async function createKey(person) {
  const passphrase = await askPassphrase("set", person);
  const record = await newProtectedKey(person, passphrase);
  await dbDo("readwrite", (s) => s.put(record, "me"));
  return record;
}

// The key pair is made extractable only to be wrapped at once: the record keeps the
// wrapped PKCS #8 bytes, never the key; what this page signs with is the non-extractable
// key unwrapped from them.
async function newProtectedKey(person, passphrase) {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const keyId = await keyIdOf(publicRaw);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const aes = await wrappingKey(passphrase, salt, PBKDF2_ITERATIONS);
  const wrapped = new Uint8Array(
    await crypto.subtle.wrapKey("pkcs8", pair.privateKey, aes, { name: "AES-GCM", iv, additionalData: enc.encode(keyId) }),
  );
  const protection = { kdf: "PBKDF2-SHA-256", iterations: PBKDF2_ITERATIONS, salt, iv, wrapped };
  const record = { person, publicKey: b64(publicRaw), keyId, protection };
  unlocked = { keyId, privateKey: await unwrapWith(aes, record), usedAt: Date.now() };
  return record;
}

export async function forgetKey() {
  await lockKey();
  await dbDo("readwrite", (s) => s.delete("me"));
}

// -- the passphrase -------------------------------------------------------------------
// PBKDF2 rather than a memory-hard function: WebCrypto has no Argon2 or scrypt, and a
// script copy of one is code to trust; 600,000 iterations of HMAC-SHA-256 is OWASP's
// current figure for PBKDF2 (0.18-0.39 s per derivation in Chromium on the 2-core
// development machine, measured at a load of 19).
const PBKDF2_ITERATIONS = 600000;
const MIN_PASSPHRASE = 10;
let unlocked = null; // { keyId, privateKey, usedAt }: the unlocked key, if any

async function wrappingKey(passphrase, salt, iterations) {
  const material = await crypto.subtle.importKey("raw", enc.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["wrapKey", "unwrapKey"],
  );
}

async function unwrapWith(aes, record) {
  const p = record.protection;
  return crypto.subtle.unwrapKey(
    "pkcs8",
    p.wrapped,
    aes,
    { name: "AES-GCM", iv: p.iv, additionalData: enc.encode(record.keyId) },
    { name: "Ed25519" },
    false, // not extractable: this page can sign with it, not read it
    ["sign"],
  );
}

// The unwrapped key, or null when AES-GCM's tag does not verify: a wrong passphrase.
async function unwrap(record, passphrase) {
  const aes = await wrappingKey(passphrase, record.protection.salt, record.protection.iterations);
  try {
    return await unwrapWith(aes, record);
  } catch {
    return null;
  }
}

export function isLocked(key) {
  if (unlocked && Date.now() - unlocked.usedAt >= IDLE_MS) unlocked = null;
  return !(unlocked && key && unlocked.keyId === key.keyId);
}

// -- staying unlocked -----------------------------------------------------------------
// Asking for the passphrase at every change (each reloads the page) is more than people
// put up with, so, logged in, the unlocked key is kept in IndexedDB (record "unlocked")
// for the session: the CryptoKey itself, stored by structured clone, which keeps it
// non-extractable (the key's bytes are never in reach of a script), with the tag of the
// session it is bound to (api/cookie.py: <body data-session>), the session's end and the
// time of the last signature. It is deleted at logout ("Lock now" too), when a page shows
// another session or none, when the session has ended, and after IDLE_MS without a
// signature: then the passphrase is asked again. The price (docs/onboarding.md §6):
// someone at this logged-in, unlocked browser can sign for up to IDLE_MS.
// 15 minutes: a usual screen-lock time-out of office workstations, and the service's
// default session length (ApiConfig.session_ttl), so a key left unlocked outlives an
// unattended screen, or the login, by no more than that.
const IDLE_MS = 15 * 60 * 1000;
const UNLOCKED = "unlocked";

function pageSession() {
  return (typeof document !== "undefined" && document.body?.dataset.session) || "";
}

// The tag of the session of ``token`` (the same as api/cookie.py session_tag).
async function sessionTag(token) {
  return hex(await sha256(concat(enc.encode("trackrecord:session-tag:v1\0"), enc.encode(token)))).slice(0, 32);
}

function fresh(kept, session) {
  const now = Date.now();
  return kept && session && kept.session === session && now < kept.expiresAt && now - kept.usedAt < IDLE_MS;
}

// The key kept unlocked for this page's session, or null (a stale one is deleted).
async function keptUnlocked() {
  const kept = await dbDo("readonly", (s) => s.get(UNLOCKED));
  if (!kept) return null;
  if (fresh(kept, pageSession())) return kept;
  await dbDo("readwrite", (s) => s.delete(UNLOCKED));
  return null;
}

// Keep ``unlocked`` for the session ``session`` ending at ``expiresAt`` (ms); this page's
// session, asked of the service, by default; not logged in, nothing is kept.
async function keepUnlocked(session = pageSession(), expiresAt = null) {
  if (!session || !unlocked) return;
  if (expiresAt === null) {
    const live = await fetch("/auth/session", { credentials: "same-origin" });
    if (!live.ok) return;
    expiresAt = Date.now() + (await live.json()).expires_in * 1000;
  }
  const { keyId, privateKey, usedAt } = unlocked;
  await dbDo("readwrite", (s) => s.put({ keyId, privateKey, usedAt, session, expiresAt }, UNLOCKED));
  lockButton(true);
}

// A signature was made: the idle time starts again.
async function touchUnlocked() {
  unlocked.usedAt = Date.now();
  const kept = await dbDo("readonly", (s) => s.get(UNLOCKED));
  if (kept && kept.keyId === unlocked.keyId && fresh(kept, pageSession())) {
    await dbDo("readwrite", (s) => s.put({ ...kept, usedAt: unlocked.usedAt }, UNLOCKED));
  }
  scheduleLock();
}

// Lock the key when the idle time is up while the page stays open.
let lockTimer = null;
function scheduleLock() {
  clearTimeout(lockTimer);
  if (unlocked) lockTimer = setTimeout(() => lockKey(), unlocked.usedAt + IDLE_MS - Date.now());
}

function lockButton(visible) {
  const button = typeof document !== "undefined" && document.getElementById("lock-key");
  if (button) button.hidden = !visible;
}

// Forget the unlocked key (logout, "Lock now", the idle time-out): the next signature asks
// for the passphrase again.
export async function lockKey() {
  unlocked = null;
  clearTimeout(lockTimer);
  lockButton(false);
  await dbDo("readwrite", (s) => s.delete(UNLOCKED));
}

// The private key to sign with: unlocked by its passphrase (asked for when locked). A key
// kept unprotected by an earlier version of these pages is first replaced by a protected one.
// ``key`` ready to sign with: unlocked, and the record to sign as (a new one when an old,
// unprotected key was replaced: call this before naming the key in what is signed).
export async function unlockKey(key) {
  if (!key.protection) return protectOldKey(key);
  if (isLocked(key)) {
    const kept = await keptUnlocked();
    if (kept && kept.keyId === key.keyId) {
      unlocked = { keyId: kept.keyId, privateKey: kept.privateKey, usedAt: kept.usedAt };
    } else {
      const privateKey = await askPassphrase("unlock", key.person, (passphrase) => unwrap(key, passphrase));
      unlocked = { keyId: key.keyId, privateKey, usedAt: Date.now() };
      await keepUnlocked();
    }
    scheduleLock();
  }
  return key;
}

async function privateKeyOf(key) {
  const ready = await unlockKey(key);
  if (ready.keyId !== key.keyId) throw new Error(_("Your key was replaced by a protected one: do it again."));
  const { privateKey } = unlocked;
  await touchUnlocked();
  return privateKey;
}

// An unprotected key (created before passphrases) was made non-extractable, so it cannot
// be wrapped: a new protected key replaces it. If the ledger has it as the person's current
// key, the old key signs the rotation to the new one (KeyRotated), as the person would in
// the CLI; otherwise nothing in the ledger names it yet and the new key simply takes over.
async function protectOldKey(old) {
  const passphrase = await askPassphrase("protect", old.person);
  const record = await newProtectedKey(old.person, passphrase);
  const person = await fetch(`/people/${encodeURIComponent(old.person)}`, { credentials: "same-origin" });
  const current = person.ok ? (await person.json()).current_key : null;
  if (current === old.keyId) {
    const statement = {
      type: "KeyRotated",
      id: crypto.randomUUID(),
      subject: old.person,
      author: old.keyId,
      issued_at: timestamp(),
      ledger: await ledgerOrigin(),
      body: { public_key: record.publicKey, next_key_digest: null },
    };
    const signature = await signWith(old.privateKey, "statement", canonicalBytes(statement));
    await api("POST", "/statements", { statement, signature: b64(signature), disclosures: [] });
  }
  await dbDo("readwrite", (s) => s.put(record, "me"));
  say(_("Your key is protected by your passphrase now (key %(key)s).", { key: record.keyId }));
  return record;
}

// Ask for the passphrase in a modal dialog: "set" (a new key), "protect" (an old key) or
// "unlock" (``check`` unwraps: null for a wrong passphrase, shown next to the field).
// Rejects when the person cancels: nothing is signed.
function askPassphrase(mode, person, check) {
  const fresh = mode !== "unlock";
  const dialog = document.createElement("dialog");
  dialog.id = "passphrase-dialog";
  dialog.dataset.mode = mode;
  dialog.setAttribute("aria-labelledby", "passphrase-title");
  const title = {
    set: _("Protect your new key with a passphrase"),
    protect: _("Protect your key with a passphrase"),
    unlock: _("Unlock your key"),
  }[mode];
  const help = {
    set: _("Your key is kept in this browser only under this passphrase. Choose one of at least %(n)s characters that only you know; it cannot be recovered (a lost passphrase is a lost key: an admin can re-key you).", { n: MIN_PASSPHRASE }),
    protect: _("This browser keeps your key unprotected. Choose a passphrase of at least %(n)s characters: a new key, kept under it, replaces the old one.", { n: MIN_PASSPHRASE }),
    unlock: _("Your passphrase unlocks the key of %(person)s until you log out or sign nothing for %(minutes)s minutes.", { person, minutes: IDLE_MS / 60000 }),
  }[mode];
  dialog.innerHTML = `<form method="dialog" id="passphrase-form">
    <h2 id="passphrase-title"></h2><p id="passphrase-help"></p>
    <label for="passphrase"></label>
    <input type="password" id="passphrase" name="passphrase" required>
    <div id="passphrase-again-field" hidden><label for="passphrase-again"></label>
    <input type="password" id="passphrase-again" name="again"></div>
    <button type="submit" id="passphrase-ok"></button>
    <button type="button" class="secondary" id="passphrase-cancel"></button></form>`;
  document.body.append(dialog);
  const $ = (id) => dialog.querySelector(`#${id}`);
  $("passphrase-title").textContent = title;
  $("passphrase-help").textContent = help;
  $("passphrase-ok").textContent = fresh ? _("Protect the key") : _("Unlock");
  $("passphrase-cancel").textContent = _("Cancel");
  dialog.querySelector("label[for=passphrase]").textContent = _("Passphrase");
  dialog.querySelector("label[for=passphrase-again]").textContent = _("The same passphrase again");
  const input = $("passphrase");
  const again = $("passphrase-again");
  input.autocomplete = fresh ? "new-password" : "current-password";
  again.autocomplete = "new-password";
  $("passphrase-again-field").hidden = !fresh;
  again.required = fresh;
  const cancelled = mode === "set" ? _("No key was created.") : _("Nothing was signed: your key stays locked.");
  return new Promise((resolve, reject) => {
    const done = (outcome) => {
      dialog.close();
      dialog.remove();
      outcome();
    };
    $("passphrase-cancel").addEventListener("click", () => done(() => reject(new Error(cancelled))));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      done(() => reject(new Error(cancelled)));
    });
    $("passphrase-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      fieldError(input, "");
      fieldError(again, "");
      const passphrase = input.value;
      if (fresh) {
        if (passphrase.length < MIN_PASSPHRASE) {
          fieldError(input, _("A passphrase has at least %(n)s characters.", { n: MIN_PASSPHRASE }));
          return;
        }
        if (again.value !== passphrase) {
          fieldError(again, _("The two passphrases differ."));
          return;
        }
        done(() => resolve(passphrase));
        return;
      }
      $("passphrase-ok").disabled = true;
      const key = await check(passphrase);
      $("passphrase-ok").disabled = false;
      if (!key) {
        input.value = "";
        fieldError(input, _("Wrong passphrase: the key stays locked."));
        return;
      }
      done(() => resolve(key));
    });
    dialog.showModal();
  });
}

// -- signing --------------------------------------------------------------------------
export async function signFor(purpose, payload, key) {
  return signWith(await privateKeyOf(key), purpose, payload);
}

async function signWith(privateKey, purpose, payload) {
  const message = concat(enc.encode(`trackrecord:v1:${purpose}\0`), payload);
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, message));
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
  key = await unlockKey(key); // before the statement names it as its author
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
  key = await unlockKey(key);
  const challenge = await api("POST", "/auth/challenge");
  const signature = await signFor("challenge", enc.encode(challenge.challenge), key);
  const session = await api("POST", "/auth/session", {
    key_id: key.keyId,
    nonce: challenge.nonce,
    signature: b64(signature),
  });
  // the key stays unlocked for the session just opened (the page reloads into it)
  await keepUnlocked(await sessionTag(session.token), Date.now() + session.expires_in * 1000);
  return session;
}

export async function logout() {
  await lockKey();
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

// The rule code of a refusal, in small print for support.
export function ruleCode(code) {
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
  document.body.dataset.session = "";
  lockKey();
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

// After a change: reload the page (to show the new state) and show ``message`` there, once:
// at the top of the section ``form`` is in (next to where the user acted), which takes
// focus; in the status line only when there is no such section.
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
  const heading = section ? document.getElementById(section) : null;
  if (!heading) {
    say(message);
    return;
  }
  const note = document.createElement("p");
  note.className = "success ok";
  note.setAttribute("role", "status");
  note.tabIndex = -1;
  note.textContent = message;
  heading.after(note);
  note.focus();
}

// At every page load: a key kept unlocked for another session, an ended one or too long
// unused is deleted; one still fresh shows "Lock now", which locks it.
async function lockControl() {
  const kept = await keptUnlocked();
  lockButton(!!kept);
  if (kept) {
    unlocked = { keyId: kept.keyId, privateKey: kept.privateKey, usedAt: kept.usedAt };
    scheduleLock();
  }
  document.getElementById("lock-key")?.addEventListener(
    "click",
    guard(async () => {
      await lockKey();
      say(_("Your key is locked: the next signature asks for your passphrase."));
    }),
  );
}

function onLoad() {
  showFlash();
  lockControl();
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onLoad);
  else onLoad();
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

// A skill's label in the page's language (the taxonomy's, from <datalist id="skill-list">),
// or the slug itself for a skill the taxonomy does not have.
const SKILL_LABELS = new Map(
  [...document.querySelectorAll("#skill-list option")].map((o) => [o.dataset.slug, o.value]),
);
export function skillLabel(slug) {
  return SKILL_LABELS.get(slug) ?? slug;
}

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
