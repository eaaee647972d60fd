// The admin page: approve registration requests (many at once as one atomic batch, signed
// here), refuse them, create invitation links, grant and revoke roles, record transfers
// and erase a person's personal content. Every change to the record is a statement signed
// with the admin's key in this browser; the service checks the admin role again.

import { api, guard, ledgerOrigin, say, signStatement, submit } from "./trackrecord.js";
import { myKey, setupKeyPanel } from "./session.js";

setupKeyPanel();
const me = document.body.dataset.person;
const DEPARTMENT = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?\/[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

document.getElementById("select-all")?.addEventListener("change", (event) => {
  for (const box of document.querySelectorAll("#registrations .pick")) box.checked = event.target.checked;
});

document.getElementById("approve-form")?.addEventListener(
  "submit",
  guard(async () => {
    const rows = [...document.querySelectorAll("#registrations tr.registration")].filter(
      (row) => row.querySelector(".pick").checked,
    );
    if (!rows.length) throw new Error("select the requests to approve first");
    const key = await myKey(me);
    const ledger = await ledgerOrigin();
    const statements = [];
    for (const row of rows) {
      const input = row.querySelector(".department");
      const department = input.value.trim();
      const organisation = row.dataset.organisation;
      if (!DEPARTMENT.test(department) || department.split("/")[0] !== organisation) {
        input.focus();
        throw new Error(`${row.dataset.person}: give a department of ${organisation}, e.g. ${organisation}/hr`);
      }
      const body = { public_key: row.dataset.publicKey, organisation, department };
      statements.push(
        await signStatement(key, ledger, "IdentityRegistered", row.dataset.person, body, {
          display_name: row.dataset.name,
        }),
      );
    }
    // One batch: all of them are registered, or (one refused) none is.
    await api("POST", "/statements/batch", { statements });
    say(`Approved ${statements.length}: ${rows.map((r) => r.dataset.person).join(", ")}.`);
    location.reload();
  }),
);

for (const button of document.querySelectorAll("#registrations .refuse")) {
  button.addEventListener(
    "click",
    guard(async (event) => {
      const row = event.target.closest("tr");
      if (!confirm(`Refuse the registration request of ${row.dataset.person}?`)) return;
      await api("DELETE", `/registrations/${row.dataset.id}`);
      location.reload();
    }),
  );
}

document.getElementById("invite-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const form = event.target;
    const body = { organisation: form.organisation.value, department: form.department.value.trim() };
    if (form.person.value.trim()) body.person = form.person.value.trim();
    if (form.display_name.value.trim()) body.display_name = form.display_name.value.trim();
    const invitation = await api("POST", "/invitations", body);
    document.getElementById("invitation-link").textContent = invitation.link;
    say(`Invitation created, valid until ${invitation.expires_at}: hand the link to the newcomer.`);
  }),
);

document.getElementById("role-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const form = event.target;
    const action = event.submitter?.value || "RoleGranted";
    const key = await myKey(me);
    const person = form.person.value.trim();
    await submit(key, action, person, { role: form.role.value, scope: form.scope.value.trim() });
    say(`${action === "RoleGranted" ? "Granted" : "Revoked"} ${form.role.value} of ${form.scope.value} for ${person}.`);
    location.reload();
  }),
);

document.getElementById("transfer-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const form = event.target;
    const key = await myKey(me);
    const person = form.person.value.trim();
    await submit(key, "EmployeeTransferred", person, {
      organisation: form.organisation.value.trim(),
      department: form.department.value.trim(),
    });
    say(`${person} now works in ${form.department.value}.`);
    location.reload();
  }),
);

document.getElementById("erase-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const form = event.target;
    const person = form.person.value.trim();
    if (form.confirm.value.trim() !== person) throw new Error("type the same person id twice to confirm");
    if (!confirm(`Erase the personal content of ${person} for good (${form.basis.value})?`)) return;
    const key = await myKey(me);
    await submit(key, "PersonErased", person, { basis: form.basis.value });
    say(`The personal content of ${person} is erased.`);
    location.reload();
  }),
);
