// The employee page: visibility switches, answering access requests, revoking grants,
// claiming a contribution (the evidence file is hashed here, never uploaded), applying to assignments.

import { guard, hex, say, sha256, submit } from "./trackrecord.js";
import { myKey, setupKeyPanel } from "./session.js";

setupKeyPanel();
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
    const done = await submit(key, "ContributionClaimed", me, body, {
      title: form.title.value,
      description: form.description.value,
      evidence_link: form.link.value,
    });
    say(`Claimed: entry ${done.log_index} of the log.`);
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
      say(`The ${form.dataset.part} part is now ${form.visibility.value} (entry ${done.log_index}).`);
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
      say(`Applied (entry ${done.log_index}).`);
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
      say(`${form.dataset.viewer} may read your ${form.dataset.part} part (entry ${done.log_index}).`);
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
      say(`Refused (entry ${done.log_index}).`);
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
      say(`${form.dataset.viewer} may no longer read your ${form.dataset.part} part (entry ${done.log_index}).`);
      location.reload();
    }),
  );
}
