// The auditor page: verify an uploaded bundle entry by entry; run a full audit.

import { api, guard, say } from "./trackrecord.js";

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "";
  if (className) td.className = className;
}

document.getElementById("bundle-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const file = event.target.bundle.files[0];
    if (!file) throw new Error("choose a bundle file first");
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
      cell(row, { ok: "✓ verified", failed: "✗ failed", unchecked: "not checked" }[e.status], e.status);
    }
    table.hidden = false;
    const r = result.report;
    const facts = r
      ? `the record of ${r.person} (${r.display_name || "name withheld"}) at checkpoint ` +
        `${r.checkpoint_size} of ${r.origin} — ${r.entry_count} entries, ` +
        `${r.contributions.length} contributions, ${r.endorsements.length} endorsements`
      : "";
    if (result.ok && r.key_pinned) {
      verdict.textContent = `Verified: ${facts}; signed with operator key ${r.verifier_key}, pinned by this ledger.`;
      verdict.className = "verdict ok";
      say("Bundle verified.");
    } else if (result.ok) {
      // Consistent in itself, but signed by a key this ledger does not know: anyone can set
      // up a ledger under any name and sign such a bundle, so it proves nothing yet.
      verdict.textContent =
        `Not trusted: ${facts} is consistent in itself, but its operator key ${r.verifier_key} is ` +
        "NOT pinned: it was taken from the bundle, not from this ledger or an origin it trusts. " +
        "Compare the key with the one its operator publishes before relying on it.";
      verdict.className = "verdict warn";
      say("The bundle is consistent but not trusted: its operator key is not pinned.", true);
    } else {
      verdict.textContent = `Not valid: ${result.failure.code} — ${result.failure.message}`;
      verdict.className = "verdict error";
      say("The bundle does not verify.", true);
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
      ? `Audit passed: ${report.entries} entries, ${report.streams} streams, ${report.keys} keys ` +
        `re-verified in ${report.seconds} s.`
      : `Audit FAILED: ${report.failure.code} at log index ${report.failure.log_index}: ${report.failure.message}`;
    out.className = report.ok ? "verdict ok" : "verdict error";
  }),
);
