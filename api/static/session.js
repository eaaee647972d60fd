// The key panel shared by the employee and manager pages: create a key in this
// browser, log in with it (a signed challenge), log out, forget the key.

import { FieldError, createKey, forgetKey, guard, loadKey, login, logout, reloadWith, say } from "./trackrecord.js";
import { _ } from "./i18n.js";

function show(id, visible) {
  const el = document.getElementById(id);
  if (el) el.hidden = !visible;
}

async function render() {
  const key = await loadKey();
  show("key-none", !key);
  show("key-present", !!key);
  if (key) {
    document.getElementById("key-person").textContent = key.person;
    document.getElementById("key-id").textContent = key.keyId;
    document.getElementById("key-public").textContent = key.publicKey;
  }
}

export function setupKeyPanel() {
  const create = document.getElementById("create-key");
  if (create) {
    create.addEventListener(
      "submit",
      guard(async () => {
        const person = document.getElementById("new-person").value.trim();
        if (!/^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/.test(person)) {
          throw new FieldError(
            document.getElementById("new-person"),
            _("A person id is lowercase letters, digits, '.', '_' or '-'."),
          );
        }
        await createKey(person);
        await render();
        say(_("Key created in this browser. Once an admin has registered it, log in."));
      }),
    );
  }
  const loginButton = document.getElementById("login");
  if (loginButton) {
    loginButton.addEventListener(
      "click",
      guard(async () => {
        const key = await loadKey();
        const session = await login(key);
        reloadWith(null, _("Logged in as %(person)s.", { person: session.person }));
      }),
    );
  }
  const forget = document.getElementById("forget-key");
  if (forget) {
    forget.addEventListener(
      "click",
      guard(async () => {
        if (!confirm(_("Forget the key in this browser? Without it you cannot sign here again."))) return;
        await forgetKey();
        await logout();
        location.reload();
      }),
    );
  }
  const out = document.getElementById("logout");
  if (out) {
    out.addEventListener(
      "click",
      guard(async () => {
        // On a shared computer the key must not stay usable with one click: offer to remove it.
        const key = await loadKey();
        if (key && confirm(_("Also remove your key from this browser? Keep it only on a computer that is yours alone."))) {
          await forgetKey();
        }
        await logout();
        location.reload();
      }),
    );
  }
  // The panel is only on the logged-out pages; the header's "Log out" is on every page.
  if (document.getElementById("key-present")) render();
}

// The key of the logged-in person, or an error telling what to do.
export async function myKey(person) {
  const key = await loadKey();
  if (!key || key.person !== person) {
    throw new Error(_("This browser holds no key of %(person)s: create or use the key you logged in with.", { person }));
  }
  return key;
}
