// The auditor page: verify an uploaded bundle entry by entry; run a full audit.

import { api, guard, say } from "./trackrecord.js";
import { _, formatNumber } from "./i18n.js";
import { labelCells } from "./tables.js";

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "";
  if (className) td.className = className;
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
    for (const e of result.entries) {
      const row = table.tBodies[0].insertRow();
      cell(row, e.log_index);
      cell(row, e.stream);
      cell(row, e.seq);
      cell(row, e.type);
      cell(row, { ok: _("✓ verified"), failed: _("✗ failed"), unchecked: _("not checked") }[e.status], e.status);
    }
    labelCells(table);
    table.hidden = false;
    const r = result.report;
    const name = r?.display_name || _("name withheld");
    const facts = r
      ? _(
          "the record of %(person)s (%(name)s) at checkpoint %(size)s of %(origin)s — " +
            "%(entries)s entries, %(contributions)s contributions, %(endorsements)s endorsements",
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
      say(_("The bundle is consistent but not trusted: its operator key is not pinned."), true);
    } else {
      verdict.textContent = _("Not valid: %(code)s — %(message)s", { code: result.failure.code, message: result.failure.message });
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
    out.textContent = report.ok
      ? _("Audit passed: %(entries)s entries, %(streams)s streams, %(keys)s keys re-verified in %(seconds)s s.", {
          entries: formatNumber(report.entries),
          streams: formatNumber(report.streams),
          keys: formatNumber(report.keys),
          seconds: formatNumber(report.seconds),
        })
      : _("Audit FAILED: %(code)s at log index %(index)s: %(message)s", {
          code: report.failure.code,
          index: report.failure.log_index,
          message: report.failure.message,
        });
    out.className = report.ok ? "verdict ok" : "verdict error";
  }),
);
