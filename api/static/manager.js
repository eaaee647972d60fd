// The manager page: answer the review requests addressed to me (reviews.js), ask to read
// a portfolio part (the access asked for and held is listed under "My access"), post an
// assignment, assign a ranked candidate or an applicant, confirm completion, cancel an
// assignment, revoke an endorsement one gave. Every statement is signed here.

import { guard, reloadWith, say, skillField, submit } from "./trackrecord.js";
import { myKey, setupKeyPanel } from "./session.js";
import { setupTabs } from "./tabs.js";
import { _ } from "./i18n.js";
import { setupReviews } from "./reviews.js";

setupKeyPanel();
setupTabs();
const me = document.body.dataset.person;
setupReviews(me);

// ``fields``: which field a refusal's rule code belongs to (trackrecord.js guard).
function onSubmit(selector, handler, fields = {}) {
  for (const form of document.querySelectorAll(selector)) {
    form.addEventListener("submit", guard(async () => handler(form, await myKey(me)), fields));
  }
}

// A new request joins "My requests" without a reload (which would clear the status line).
function showRequest(owner, part, partName) {
  const row = document.createElement("tr");
  row.className = "my-request";
  row.dataset.owner = owner;
  row.dataset.part = part;
  for (const text of [owner, partName, _("waiting")]) row.insertCell().textContent = text;
  row.cells[2].className = "answer";
  document.querySelector("#my-requests tbody")?.prepend(row);
  const none = document.getElementById("no-requests");
  if (none) none.hidden = true;
}

onSubmit("#access-form", async (form, key) => {
  const done = await submit(key, "AccessRequested", form.owner.value.trim(), {
    part: form.part.value,
  }, { message: form.message.value });
  const partName = form.part.selectedOptions[0].textContent;
  say(_("Asked %(owner)s for their %(part)s part (entry %(entry)s).", { owner: form.owner.value, part: partName, entry: done.log_index }));
  showRequest(form.owner.value.trim(), form.part.value, partName);
  form.reset();
});

const postedSkills = document.getElementById("a-skills") ? skillField(document.getElementById("a-skills")) : null;

onSubmit("#post-form", async (form, key) => {
  const department = form.department.value;
  const done = await submit(key, "AssignmentPosted", crypto.randomUUID(), {
    organisation: department.split("/")[0],
    department,
    skills: postedSkills(),
    hours_per_week: Number(form.hours.value),
    ring: form.ring.value,
  }, { title: form.title.value, description: form.description.value });
  reloadWith(form, _("Posted (entry %(entry)s).", { entry: done.log_index }));
});

onSubmit("form.assign", async (form, key) => {
  const done = await submit(key, "AssignmentAssigned", form.dataset.assignment, {
    assignee: form.dataset.person,
  });
  reloadWith(form, _("Assigned (entry %(entry)s).", { entry: done.log_index }));
});

onSubmit("form.complete", async (form, key) => {
  const done = await submit(key, "AssignmentCompleted", form.dataset.assignment, {
    assignee: form.dataset.person,
    outcome: form.outcome.value,
    grade: Number(form.grade.value),
  }, { outcome_note: form.note.value });
  reloadWith(form, _("Completion confirmed (entry %(entry)s).", { entry: done.log_index }));
});

onSubmit("form.cancel", async (form, key) => {
  const done = await submit(key, "AssignmentCancelled", form.dataset.assignment, {}, { reason: form.reason.value });
  reloadWith(form, _("Cancelled (entry %(entry)s).", { entry: done.log_index }));
});

onSubmit("form.revoke-endorsement", async (form, key) => {
  const done = await submit(key, "EndorsementRevoked", form.dataset.person, {
    endorsement: form.dataset.endorsement,
  }, { reason: form.reason.value });
  reloadWith(form, _("Endorsement revoked (entry %(entry)s).", { entry: done.log_index }));
});
