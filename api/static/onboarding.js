// A newcomer's first steps without a shell: after signing in at the organisation's
// identity provider (or with an invitation link), create a key in this browser and file
// a registration request signed with it (purpose "registration" over the JCS form of
// {display_name, ledger, person, public_key}; ledger/onboarding.py). The private key
// stays in this browser; an admin approves the request on the admin page.

import { canonicalBytes } from "./jcs.js";
import { FieldError, api, b64, createKey, guard, ledgerOrigin, loadKey, say, signFor, unlockKey } from "./trackrecord.js";
import { _ } from "./i18n.js";

const SLUG = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

// kind "rekey": the person is registered and lost their key; an admin approves the new
// one with a KeyRotated (an admin re-key).
export async function requestRegistration(person, displayName, invitation, kind = "register") {
  let key = await loadKey();
  if (!key || key.person !== person || kind === "rekey") key = await createKey(person);
  else key = await unlockKey(key);
  const ledger = await ledgerOrigin();
  const payload = { display_name: displayName, ledger, person, public_key: key.publicKey };
  if (kind === "rekey") payload.kind = "rekey";
  const signature = await signFor("registration", canonicalBytes(payload), key);
  const body = { person, display_name: displayName, public_key: key.publicKey, signature: b64(signature), kind };
  if (invitation) body.invitation = invitation;
  return api("POST", "/registrations", body);
}

export function setupNewcomer() {
  document.getElementById("request-registration")?.addEventListener(
    "submit",
    guard(
      async (event) => {
      const form = event.target;
      const person = form.person.value.trim();
      if (!SLUG.test(person)) {
        throw new FieldError(form.person, _("A person id is lowercase letters, digits, '.', '_' or '-'."));
      }
      const kind = form.rekey?.checked ? "rekey" : "register";
      const filed = await requestRegistration(person, form.display_name.value.trim(), form.dataset.invitation, kind);
      if (!form.dataset.invitation) {
        location.reload(); // the page shows the request filed under the sign-in
        return;
      }
      // An invitation works once: stay on this page rather than reload a spent link.
      form.hidden = true;
      say(_("Your key is in this browser and your request as %(person)s waits for an admin. " +
        "Once approved, log in with it on the employee page.", { person: filed.person }));
      },
      { already_registered: "person", bad_subject: "person", key_in_use: "person", reserved_id: "person" },
    ),
  );
  document.getElementById("leave-signin")?.addEventListener(
    "click",
    guard(async () => {
      await api("DELETE", "/auth/onboarding");
      location.reload();
    }),
  );
}
