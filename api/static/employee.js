// The employee page: visibility switches, answering access requests, revoking grants,
// claiming a contribution (the evidence file is hashed here, never uploaded), withdrawing
// one, stating an ambition, applying to assignments, exporting the record and importing it
// from another ledger. Errors show next to their field (trackrecord.js guard);
// after a change the page reloads and says what was done in the section it was done in.

import {
  FieldError,
  api,
  explain,
  guard,
  hex,
  refusal,
  reloadWith,
  say,
  sha256,
  skillField,
  submit,
} from "./trackrecord.js";
import { myKey, setupKeyPanel } from "./session.js";
import { setupTabs } from "./tabs.js";
import { setupNewcomer } from "./onboarding.js";
import { _ } from "./i18n.js";
import { setupReviews } from "./reviews.js";

setupKeyPanel();
setupTabs();
setupNewcomer();
const me = document.body.dataset.person;
setupReviews(me);

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

const claimForm = document.getElementById("claim-form");
if (claimForm) {
  const claimedSkills = skillField(claimForm.skills);
  claimForm.addEventListener(
    "submit",
    guard(
      async () => {
        const form = claimForm;
        const key = await myKey(me);
        const body = {
          part: form.part.value,
          kind: form.kind.value,
          skills: claimedSkills(),
          period: form.end.value ? { start: form.start.value, end: form.end.value } : { start: form.start.value },
        };
        const digest = await evidenceDigest(form.evidence);
        if (digest) body.evidence_sha256 = digest;
        const done = await submit(key, "ContributionClaimed", me, body, {
          title: form.title.value,
          description: form.description.value,
          evidence_link: form.link.value,
        });
        reloadWith(form, _("Claimed: entry %(entry)s of the log.", { entry: done.log_index }));
      },
      { bad_period: "end", too_long: "title" },
    ),
  );
}

for (const form of document.querySelectorAll("form.withdraw")) {
  form.addEventListener(
    "submit",
    guard(async () => {
      const key = await myKey(me);
      const done = await submit(key, "ContributionWithdrawn", me, { contribution: form.dataset.contribution }, {
        reason: form.reason.value,
      });
      reloadWith(form, _("Withdrawn: “%(title)s” (entry %(entry)s).", { title: form.dataset.title, entry: done.log_index }));
    }),
  );
}

const ambitionForm = document.getElementById("ambition-form");
if (ambitionForm) {
  const wantedSkills = skillField(ambitionForm.skills);
  ambitionForm.addEventListener(
    "submit",
    guard(
      async () => {
        const key = await myKey(me);
        const done = await submit(key, "AmbitionStated", me, { skills: wantedSkills() }, {
          goal: ambitionForm.goal.value,
          courses: ambitionForm.courses.value,
        });
        reloadWith(ambitionForm, _("Ambition stated (entry %(entry)s).", { entry: done.log_index }));
      },
      { too_long: "goal" },
    ),
  );
}

for (const form of document.querySelectorAll("form.visibility")) {
  form.addEventListener(
    "submit",
    guard(async () => {
      const key = await myKey(me);
      const done = await submit(key, "VisibilityChanged", me, {
        part: form.dataset.part,
        visibility: form.visibility.value,
      });
      reloadWith(
        form,
        _("The %(part)s part is now %(visibility)s (entry %(entry)s).", {
          part: form.dataset.partName,
          visibility: form.visibility.selectedOptions[0].textContent,
          entry: done.log_index,
        }),
      );
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
      reloadWith(form, _("Applied (entry %(entry)s).", { entry: done.log_index }));
    }),
  );
}

for (const form of document.querySelectorAll("form.grant-access")) {
  form.addEventListener(
    "submit",
    guard(
      async () => {
        const key = await myKey(me);
        const body = { viewer: form.dataset.viewer, part: form.dataset.part, request: form.dataset.request };
        if (form.until.value) body.until = form.until.value;
        const done = await submit(key, "AccessGranted", me, body);
        reloadWith(
          form,
          _("%(viewer)s may read your %(part)s part (entry %(entry)s).", {
            viewer: form.dataset.viewer,
            part: form.dataset.partName,
            entry: done.log_index,
          }),
        );
      },
      { grant_expired: "until" },
    ),
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
      reloadWith(form, _("Refused (entry %(entry)s).", { entry: done.log_index }));
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
      reloadWith(
        form,
        _("%(viewer)s may no longer read your %(part)s part (entry %(entry)s).", {
          viewer: form.dataset.viewer,
          part: form.dataset.partName,
          entry: done.log_index,
        }),
      );
    }),
  );
}

// Download a bundle: fetched here so that a refusal (an unknown person, an ended session)
// shows on the page instead of a raw problem document, or a download that silently fails.
async function download(url, fallbackName) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    const type = response.headers.get("content-type") || "";
    throw refusal(type.includes("json") ? await response.json() : { detail: await response.text(), code: "error" });
  }
  const disposition = response.headers.get("content-disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || fallbackName;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  say(_("Downloaded %(name)s.", { name }));
}

document.getElementById("export")?.addEventListener(
  "click",
  guard(async (event) => {
    event.preventDefault();
    await download(event.currentTarget.href, `${me}-record.json`);
  }),
);

document.getElementById("export-chosen")?.addEventListener(
  "submit",
  guard(
    async (event) => {
      const form = event.target;
      const params = new URLSearchParams(new FormData(form));
      if (!params.get("for")) params.delete("for");
      try {
        await download(`${form.getAttribute("action")}?${params}`, `${me}-record.json`);
      } catch (error) {
        // Not found, with a person named in "for": that person is not registered here.
        if (error.code !== "not_found" || !params.get("for")) throw error;
        throw new FieldError(form.elements.for, explain({ code: "unknown_person" }), "not_found");
      }
    },
    { bad_subject: "for", invalid_request: "for" },
  ),
);

// Import my record from another ledger (POST /bundles/import): a refusal of the bundle
// (not linked to me here, gone to another ledger, an untrusted origin, no bundle at all)
// shows next to the file.
document.getElementById("import-record")?.addEventListener(
  "submit",
  guard(
    async (event) => {
      const form = event.target;
      const file = form.bundle.files[0];
      if (!file) throw new FieldError(form.bundle, _("Choose a bundle file first."));
      const done = await api("POST", "/bundles/import", await file.text());
      const values = { origin: done.origin, size: done.checkpoint_size };
      reloadWith(
        form,
        done.new
          ? _("Imported: your record on %(origin)s up to checkpoint %(size)s.", values)
          : _("Your record on %(origin)s up to checkpoint %(size)s was imported already.", values),
      );
    },
    {
      identity_unproven: "bundle",
      wrong_destination: "bundle",
      untrusted_key: "bundle",
      bad_format: "bundle",
      already_imported: "bundle",
      not_yours: "bundle",
    },
  ),
);
