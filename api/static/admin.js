// The admin page: approve registration requests (many at once as one atomic batch, signed
// here), refuse them, create invitation links, grant and revoke roles, record transfers
// and erase a person's personal content. Every change to the record is a statement signed
// with the admin's key in this browser; the service checks the admin role again.

import { api, guard, ledgerOrigin, reloadWith, say, signStatement, submit } from "./trackrecord.js";
import { myKey, setupKeyPanel } from "./session.js";
import { _ } from "./i18n.js";

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
    if (!rows.length) throw new Error(_("Select the requests to approve first."));
    const key = await myKey(me);
    const ledger = await ledgerOrigin();
    const statements = [];
    for (const row of rows) {
      if (row.dataset.kind === "rekey") {
        // An admin re-key: the person's new key replaces the lost one (their older entries
        // still verify under the keys they were signed with).
        statements.push(
          await signStatement(key, ledger, "KeyRotated", row.dataset.person, { public_key: row.dataset.publicKey }),
        );
        continue;
      }
      const input = row.querySelector(".department");
      const department = input.value.trim();
      const organisation = row.dataset.organisation;
      if (!DEPARTMENT.test(department) || department.split("/")[0] !== organisation) {
        input.focus();
        throw new Error(_("%(person)s: give a department of %(organisation)s, e.g. %(organisation)s/hr.", { person: row.dataset.person, organisation }));
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
    const people = rows.map((r) => r.dataset.person).join(", ");
    reloadWith(document.getElementById("approve-form"), _("Approved %(count)s: %(people)s.", { count: statements.length, people }));
  }),
);

for (const button of document.querySelectorAll("#registrations .refuse")) {
  button.addEventListener(
    "click",
    guard(async (event) => {
      const row = event.target.closest("tr");
      if (!confirm(_("Refuse the registration request of %(person)s?", { person: row.dataset.person }))) return;
      await api("DELETE", `/registrations/${row.dataset.id}`);
      reloadWith(row, _("Refused the registration request of %(person)s.", { person: row.dataset.person }));
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
    say(_("Invitation created, valid until %(until)s: hand the link to the newcomer.", { until: invitation.expires_at }));
  }, { reserved_id: "person", bad_department: "department" }),
);

document.getElementById("role-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const form = event.target;
    const action = event.submitter?.value || "RoleGranted";
    const key = await myKey(me);
    const person = form.person.value.trim();
    await submit(key, action, person, { role: form.role.value, scope: form.scope.value.trim() });
    const done = { role: form.role.selectedOptions[0].textContent, scope: form.scope.value, person };
    reloadWith(
      form,
      action === "RoleGranted"
        ? _("Granted %(role)s of %(scope)s to %(person)s.", done)
        : _("Revoked %(role)s of %(scope)s from %(person)s.", done),
    );
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
    reloadWith(form, _("%(person)s now works in %(department)s.", { person, department: form.department.value }));
  }),
);

document.getElementById("erase-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const form = event.target;
    const person = form.person.value.trim();
    if (form.confirm.value.trim() !== person) throw new Error(_("Type the same person id twice to confirm."));
    if (!confirm(_("Erase the personal content of %(person)s for good (%(basis)s)?", { person, basis: form.basis.selectedOptions[0].textContent }))) return;
    const key = await myKey(me);
    await submit(key, "PersonErased", person, { basis: form.basis.value });
    reloadWith(form, _("The personal content of %(person)s is erased.", { person }));
  }),
);

// -- trusted origins: the ledger's own setting (no statement), changed by its operator ---------
document.getElementById("trust-form")?.addEventListener(
  "submit",
  // a malformed key is refused with the problem's field "verifier_key": shown next to it
  guard(async (event) => {
    const form = event.target;
    const weight = Number(form.weight.value);
    const trusted = await api("POST", "/trusted-origins", { verifier_key: form.verifier_key.value.trim(), weight });
    reloadWith(form, _("%(origin)s is trusted (weight %(weight)s).", { origin: trusted.origin, weight: String(trusted.weight) }));
  }),
);

for (const button of document.querySelectorAll("#trusted-origins .untrust")) {
  button.addEventListener(
    "click",
    guard(async () => {
      const origin = button.closest("tr").dataset.origin;
      if (!confirm(_("Stop trusting %(origin)s? Records from it can no longer be imported.", { origin }))) return;
      await api("DELETE", `/trusted-origins/${encodeURIComponent(origin)}`);
      reloadWith(document.getElementById("trust-heading"), _("%(origin)s is no longer trusted.", { origin }));
    }),
  );
}

// -- HR import: the service plans, this browser signs and appends in atomic batches ----------
let importPlan = null;
let importFile = null;

document.getElementById("import-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const file = event.target.file.files[0];
    importFile = await file.arrayBuffer();
    const response = await fetch("/people-import/plan", {
      method: "POST",
      headers: { "Content-Type": "text/csv" },
      body: importFile,
      credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) throw new Error(`${data.code}: ${data.detail}`);
    importPlan = data;
    const body = document.querySelector("#import-rows tbody");
    body.replaceChildren();
    for (const row of data.rows) {
      const tr = document.createElement("tr");
      tr.className = row.actions.includes("refused") ? "import-row error" : "import-row";
      for (const text of [row.line, row.person, row.actions.join(" + "), row.details.join("; ")]) {
        const td = document.createElement("td");
        td.textContent = String(text);
        tr.append(td);
      }
      body.append(tr);
    }
    document.getElementById("import-rows").hidden = !data.rows.length;
    const counts = Object.entries(data.counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(", ");
    document.getElementById("import-summary").textContent = counts;
    // applying also keeps the file's e-mail addresses for notifications, so an unchanged file applies too
    document.getElementById("import-apply").hidden = data.refused > 0;
    if (data.refused > 0) say(_("Nothing can be imported while rows are refused (refused rows: %(count)s).", { count: data.refused }), true);
  }),
);

document.getElementById("import-apply")?.addEventListener(
  "click",
  guard(async () => {
    const key = await myKey(me);
    const ledger = await ledgerOrigin();
    const rows = importPlan.rows.filter((row) => row.statements.length);
    const progress = document.getElementById("import-progress");
    progress.hidden = false;
    progress.max = rows.length;
    let batch = [];
    let done = 0;
    let pending = 0;
    const flush = async () => {
      await api("POST", "/statements/batch", { statements: batch });
      done += pending;
      progress.value = done;
      batch = [];
      pending = 0;
    };
    for (const row of rows) {
      if (batch.length && batch.length + row.statements.length > 500) await flush();
      for (const s of row.statements) {
        batch.push(await signStatement(key, ledger, s.type, s.subject, s.body, s.personal));
      }
      pending += 1;
    }
    if (batch.length) await flush();
    const kept = await fetch("/people-import/addresses", {
      method: "POST",
      headers: { "Content-Type": "text/csv" },
      body: importFile,
      credentials: "same-origin",
    });
    if (!kept.ok) {
      const problem = await kept.json();
      throw new Error(`${problem.code}: ${problem.detail}`);
    }
    reloadWith(document.getElementById("import-form"), _("Rows imported: %(count)s.", { count: done }));
  }),
);
