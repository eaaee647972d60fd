// The employee page: visibility switches, answering access requests, revoking grants,
// claiming a contribution (the evidence file is hashed here, never uploaded), applying to assignments.

import { fieldError, guard, hex, say, sha256, submit } from "./trackrecord.js";
import { setupNewcomer } from "./onboarding.js";
import { myKey, setupKeyPanel } from "./session.js";
import { _, formatDate } from "./i18n.js";

setupKeyPanel();
setupNewcomer();
const me = document.body.dataset.person;

async function evidenceDigest(input) {
  const file = input.files && input.files[0];
  if (!file) return null;
  return hex(await sha256(new Uint8Array(await file.arrayBuffer())));
}

document.getElementById("evidence")?.addEventListener(
  "change",
  guard(async (event) => {
    const digest = await evidenceDigest(event.target);
    document.getElementById("evidence-digest").textContent = digest ? `SHA-256 ${digest}` : "";
  }),
);

document.getElementById("claim-form")?.addEventListener(
  "submit",
  guard(async (event) => {
    const form = event.target;
    const key = await myKey(me);
    const skills = form.skills.value.split(",").map((s) => s.trim()).filter(Boolean);
    const body = {
      part: form.part.value,
      kind: form.kind.value,
      skills,
      period: form.end.value ? { start: form.start.value, end: form.end.value } : { start: form.start.value },
    };
    const digest = await evidenceDigest(form.evidence);
    if (digest) body.evidence_sha256 = digest;
    fieldError(form.end, "");
    let done;
    try {
      done = await submit(key, "ContributionClaimed", me, body, {
        title: form.title.value,
        description: form.description.value,
        evidence_link: form.link.value,
      });
    } catch (error) {
      if (error.problem?.code !== "bad_period") throw error;
      fieldError(form.end, _("The end date is before the start date (%(start)s).", { start: formatDate(form.start.value) }));
      say(_("Not claimed: check the end date."), true);
      return;
    }
    say(_("Claimed: entry %(entry)s of the log.", { entry: done.log_index }));
    location.reload();
  }),
);

for (const form of document.querySelectorAll("form.visibility")) {
  form.addEventListener(
    "submit",
    guard(async () => {
      const key = await myKey(me);
      const done = await submit(key, "VisibilityChanged", me, {
        part: form.dataset.part,
        visibility: form.visibility.value,
      });
      say(_("The %(part)s part is now %(visibility)s (entry %(entry)s).", {
        part: form.dataset.partName,
        visibility: form.visibility.selectedOptions[0].textContent,
        entry: done.log_index,
      }));
      location.reload();
    }),
  );
}

for (const form of document.querySelectorAll("form.apply")) {
  form.addEventListener(
    "submit",
    guard(async () => {
      const key = await myKey(me);
      const done = await submit(key, "AssignmentApplied", form.dataset.assignment, {
        hours_per_week: Number(form.hours.value),
      }, { motivation: form.motivation.value });
      say(_("Applied (entry %(entry)s).", { entry: done.log_index }));
      location.reload();
    }),
  );
}

for (const form of document.querySelectorAll("form.grant-access")) {
  form.addEventListener(
    "submit",
    guard(async () => {
      const key = await myKey(me);
      const body = { viewer: form.dataset.viewer, part: form.dataset.part, request: form.dataset.request };
      if (form.until.value) body.until = form.until.value;
      const done = await submit(key, "AccessGranted", me, body);
      say(_("%(viewer)s may read your %(part)s part (entry %(entry)s).", { viewer: form.dataset.viewer, part: form.dataset.partName, entry: done.log_index }));
      location.reload();
    }),
  );
}

for (const form of document.querySelectorAll("form.refuse-access")) {
  form.addEventListener(
    "submit",
    guard(async () => {
      const key = await myKey(me);
      const done = await submit(key, "AccessRefused", me, { request: form.dataset.request }, {
        reason: form.reason.value,
      });
      say(_("Refused (entry %(entry)s).", { entry: done.log_index }));
      location.reload();
    }),
  );
}

for (const form of document.querySelectorAll("form.revoke-access")) {
  form.addEventListener(
    "submit",
    guard(async () => {
      const key = await myKey(me);
      const done = await submit(key, "AccessRevoked", me, { grant: form.dataset.grant }, {
        reason: form.reason.value,
      });
      say(_("%(viewer)s may no longer read your %(part)s part (entry %(entry)s).", { viewer: form.dataset.viewer, part: form.dataset.partName, entry: done.log_index }));
      location.reload();
    }),
  );
}

// Download a chosen bundle: fetched here so that a refusal (an unknown person, say) shows
// next to the field instead of replacing the page with the API's problem document.
document.getElementById("export-chosen")?.addEventListener(
  "submit",
  guard(async (event) => {
    const form = event.target;
    const params = new URLSearchParams(new FormData(form));
    if (!params.get("for")) params.delete("for");
    fieldError(form.elements.for, "");
    const response = await fetch(`${form.getAttribute("action")}?${params}`, { credentials: "same-origin" });
    if (!response.ok) {
      const type = response.headers.get("content-type") || "";
      const problem = type.includes("json") ? await response.json() : { detail: await response.text() };
      fieldError(form.elements.for, _("No bundle: %(reason)s", { reason: problem.detail }));
      say(_("The bundle was not made."), true);
      return;
    }
    const disposition = response.headers.get("content-disposition") || "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || `${me}-record.json`;
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    say(_("Downloaded %(name)s.", { name }));
  }),
);
