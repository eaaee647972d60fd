// The auditor page: verify an uploaded bundle entry by entry; run a full audit.

import { api, explain, guard, ruleCode, say, skillLabel } from "./trackrecord.js";
import { _, formatNumber } from "./i18n.js";
import { labelCells } from "./tables.js";

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "";
  if (className) td.className = className;
}

// An endorser's role, and the fields a failure can name, in the page's language.
const ROLES = { manager: _("manager"), peer: _("peer"), client: _("client") };
const FIELDS = { grade: _("grade"), role: _("role"), title: _("title"), comment: _("comment") };

// Each statement type (docs/entry.md, ledger.catalogue) in the page's language; the type
// itself stays beside it in small print, as the auditor's tools name it.
const STATEMENTS = {
  IdentityRegistered: _("person registered"),
  KeyRotated: _("key replaced"),
  KeyRevoked: _("key revoked"),
  RoleGranted: _("role granted"),
  RoleRevoked: _("role revoked"),
  EmployeeTransferred: _("transferred"),
  TransferConsented: _("consent to a move"),
  EmployeeLeft: _("left for another ledger"),
  IdentityLinked: _("record on another ledger linked"),
  PersonErased: _("personal content erased"),
  ContributionClaimed: _("contribution claimed"),
  ContributionWithdrawn: _("contribution withdrawn"),
  EndorsementGiven: _("endorsement given"),
  EndorsementRevoked: _("endorsement revoked"),
  ReviewRequested: _("review requested"),
  AmbitionStated: _("ambition stated"),
  VisibilityChanged: _("visibility changed"),
  AccessRequested: _("access requested"),
  AccessGranted: _("access granted"),
  AccessRefused: _("access refused"),
  AccessRevoked: _("access revoked"),
  AssignmentPosted: _("assignment posted"),
  AssignmentApplied: _("applied to an assignment"),
  AssignmentAssigned: _("assigned to an assignment"),
  AssignmentCompleted: _("assignment completed"),
  AssignmentCancelled: _("assignment cancelled"),
};

function statementCell(row, type) {
  const td = row.insertCell();
  td.textContent = STATEMENTS[type] ?? type ?? "";
  if (STATEMENTS[type]) td.append(" ", Object.assign(document.createElement("small"), { className: "rule-code", textContent: type }));
}

function shownValue(field, value) {
  return field === "role" ? ROLES[value] ?? value : value;
}

// An entry in people's terms, as the bundle shows it (its claims are what failed to verify).
function describe(row, rows) {
  const person = row.subject ?? "?";
  if (row.type === "EndorsementGiven") {
    const claimed = rows.find((r) => r.id === row.contribution);
    const values = { person, title: claimed?.title, role: ROLES[row.role] ?? row.role, grade: row.grade };
    return claimed?.title
      ? _("an endorsement of %(person)s's contribution “%(title)s” by a %(role)s, grade %(grade)s", values)
      : _("an endorsement of a contribution of %(person)s by a %(role)s, grade %(grade)s", values);
  }
  if (row.type === "ContributionClaimed") {
    return row.title
      ? _("the contribution “%(title)s” of %(person)s", { person, title: row.title })
      : _("a contribution of %(person)s", { person });
  }
  const type = STATEMENTS[row.type] ?? row.type ?? "?";
  return _("a statement “%(type)s” about %(person)s", { type, person });
}

// What failed, in people's words: which entry, and what its failure means.
function failureSentence(failure, rows) {
  const row = Number.isInteger(failure.entry_index) ? rows[failure.entry_index] : undefined;
  if (!row) return _("Not valid: %(message)s", { message: failure.message });
  const entry = describe(row, rows);
  const index = row.log_index;
  const field = FIELDS[failure.field] ?? failure.field;
  if (failure.code === "bad_inclusion_proof" && failure.field) {
    return _(
      "Not valid: the %(field)s of entry %(index)s was altered after it was logged: the ledger's " +
        "checkpoint holds %(logged)s, the bundle shows %(shown)s. Entry %(index)s as the bundle shows it: %(entry)s.",
      {
        field,
        index,
        entry,
        logged: shownValue(failure.field, failure.logged),
        shown: shownValue(failure.field, failure.shown),
      },
    );
  }
  if (failure.code === "bad_inclusion_proof") {
    return _(
      "Not valid: entry %(index)s (%(entry)s) was altered after it was logged: it is not the entry " +
        "the ledger's checkpoint holds.",
      { index, entry },
    );
  }
  if (failure.code === "bad_disclosure" && failure.field) {
    return _(
      "Not valid: the %(field)s shown for entry %(index)s (%(entry)s) was altered: it is not the " +
        "text its author signed.",
      { field, index, entry },
    );
  }
  return _("Not valid: entry %(index)s (%(entry)s) does not verify: %(message)s", {
    index,
    entry,
    message: failure.message,
  });
}

// What a verified bundle establishes: each contribution with its endorsements and grades.
function showFacts(report, pinned) {
  const facts = document.getElementById("bundle-facts");
  const heading = document.getElementById("bundle-facts-heading");
  heading.textContent = pinned
    ? _("What the bundle proves")
    : _("What the bundle claims (not trusted: its operator key is not pinned)");
  const body = document.getElementById("bundle-contributions").tBodies[0];
  body.replaceChildren();
  for (const c of report.contributions) {
    const row = body.insertRow();
    row.className = "contribution";
    cell(row, (c.title ?? _("(title withheld)")) + (c.withdrawn ? " " + _("(withdrawn)") : ""));
    cell(row, c.skills.map(skillLabel).join(", "));
    const given = report.endorsements
      .filter((e) => e.contribution === c.id)
      .map((e) =>
        _("%(endorser)s (%(role)s): grade %(grade)s", {
          endorser: e.endorser_name || e.endorser,
          role: ROLES[e.role] ?? e.role,
          grade: e.grade,
        }),
      );
    cell(row, given.join("; ") || _("none"));
  }
  labelCells(document.getElementById("bundle-contributions"));
  facts.hidden = false;
}

document.getElementById("bundle-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const file = event.target.bundle.files[0];
    if (!file) throw new Error(_("Choose a bundle file first."));
    const result = await api("POST", "/bundles/verify", await file.text());
    const verdict = document.getElementById("bundle-verdict");
    const table = document.getElementById("bundle-entries");
    table.tBodies[0].replaceChildren();
    document.getElementById("bundle-facts").hidden = true;
    for (const e of result.entries) {
      const row = table.tBodies[0].insertRow();
      if (e.status === "failed") row.className = "failed";
      cell(row, e.log_index);
      cell(row, e.stream);
      cell(row, e.seq);
      statementCell(row, e.type);
      cell(row, { ok: _("✓ verified"), failed: _("✗ failed"), unchecked: _("not checked") }[e.status], e.status);
    }
    labelCells(table);
    table.hidden = false;
    const r = result.report;
    const name = r?.display_name || _("name withheld");
    const facts = r
      ? _(
          // counts after a colon: "1 contributions" read wrong, and the scripts' texts
          // have no plural forms
          "the record of %(person)s (%(name)s) at checkpoint %(size)s of %(origin)s — " +
            "entries: %(entries)s, contributions: %(contributions)s, endorsements: %(endorsements)s",
          {
            person: r.person,
            name,
            size: formatNumber(r.checkpoint_size),
            origin: r.origin,
            entries: formatNumber(r.entry_count),
            contributions: formatNumber(r.contributions.length),
            endorsements: formatNumber(r.endorsements.length),
          },
        )
      : "";
    if (result.ok && r.key_pinned) {
      verdict.textContent = _("Verified: %(facts)s; signed with operator key %(key)s, pinned by this ledger.", { facts, key: r.verifier_key });
      verdict.className = "verdict ok";
      showFacts(r, true);
      say(_("Bundle verified."));
    } else if (result.ok) {
      // Consistent in itself, but signed by a key this ledger does not know: anyone can set
      // up a ledger under any name and sign such a bundle, so it proves nothing yet.
      verdict.textContent = _(
        "Not trusted: %(facts)s is consistent in itself, but its operator key %(key)s is " +
          "NOT pinned: it was taken from the bundle, not from this ledger or an origin it trusts. " +
          "Compare the key with the one its operator publishes before relying on it.",
        { facts, key: r.verifier_key },
      );
      verdict.className = "verdict warn";
      showFacts(r, false);
      say(_("The bundle is consistent but not trusted: its operator key is not pinned."), true);
    } else {
      verdict.replaceChildren(failureSentence(result.failure, result.entries), " ", ruleCode(result.failure.code));
      verdict.className = "verdict error";
      say(_("The bundle does not verify."), true);
    }
  }),
);

// A new file: the verdict and table of the previous one no longer apply.
document.getElementById("bundle")?.addEventListener("change", () => {
  const verdict = document.getElementById("bundle-verdict");
  verdict.textContent = "";
  verdict.className = "verdict";
  const table = document.getElementById("bundle-entries");
  table.tBodies[0].replaceChildren();
  table.hidden = true;
  document.getElementById("bundle-facts").hidden = true;
  say("");
});

document.getElementById("run-audit")?.addEventListener(
  "click",
  guard(async () => {
    const bar = document.getElementById("audit-progress");
    const out = document.getElementById("audit-result");
    let job = await api("POST", "/audits");
    bar.hidden = false;
    while (job.status === "running") {
      bar.max = Math.max(job.total, 1);
      bar.value = job.checked;
      await new Promise((r) => setTimeout(r, 200));
      job = await api("GET", `/audits/${job.id}`);
    }
    bar.max = 1;
    bar.value = 1;
    const report = job.report;
    const detail = document.getElementById("audit-detail");
    detail.hidden = report.ok;
    if (report.ok) {
      out.textContent = _("Audit passed: %(entries)s entries, %(streams)s streams, %(keys)s keys re-verified in %(seconds)s s.", {
        entries: formatNumber(report.entries),
        streams: formatNumber(report.streams),
        keys: formatNumber(report.keys),
        seconds: formatNumber(report.seconds),
      });
      out.className = "verdict ok";
      return;
    }
    const failure = report.failure;
    out.replaceChildren(auditFailure(failure), " ", ruleCode(failure.code));
    out.className = "verdict error";
    document.getElementById("audit-message").textContent = failure.message;
  }),
);

// What each failure of a full audit means (api/wording.py AUDIT_FINDINGS, in the page's
// language); any other code is a rule of the ledger the entry breaks (RULES).
const FINDINGS = JSON.parse(document.getElementById("audit-findings")?.textContent || "{}");

// A failed audit in people's words: where in the log, and what was found there.
function auditFailure(failure) {
  const index = formatNumber(failure.log_index);
  const finding = FINDINGS[failure.code];
  if (finding) return _("Audit FAILED at entry %(index)s of the log: %(finding)s", { index, finding });
  const rule = explain({ code: failure.code, detail: failure.message });
  return _("Audit FAILED: entry %(index)s of the log breaks a rule of the ledger: %(rule)s", { index, rule });
}
