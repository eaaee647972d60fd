// 360° reviews on request, on the employee and the manager page: ask named people to review
// a contribution (ReviewRequested), and answer a request addressed to me (EndorsementGiven
// naming it). Every statement is signed here; refusals show next to their field.

import { FieldError, guard, reloadWith, submit } from "./trackrecord.js";
import { myKey } from "./session.js";
import { _ } from "./i18n.js";

function people(input) {
  return input.value.split(",").map((s) => s.trim()).filter(Boolean);
}

export function setupReviews(me) {
  for (const form of document.querySelectorAll("form.answer-review")) {
    form.addEventListener(
      "submit",
      guard(async () => {
        const key = await myKey(me);
        const done = await submit(key, "EndorsementGiven", form.dataset.owner, {
          contribution: form.dataset.contribution,
          grade: Number(form.grade.value),
          role: form.dataset.role,
          request: form.dataset.request,
        }, { comment: form.comment.value });
        reloadWith(form, _("Endorsed (entry %(entry)s).", { entry: done.log_index }));
      }, { bad_grade: "grade" }),
    );
  }
  const ask = document.getElementById("review-form");
  if (!ask) return;
  ask.addEventListener(
    "submit",
    guard(
      async () => {
        const reviewers = [];
        for (const role of ["manager", "peer", "client"]) {
          for (const person of people(ask.elements[role])) reviewers.push({ person, role });
        }
        if (!reviewers.length) {
          throw new FieldError(ask.elements.peer, _("Name at least one person to ask."), "no_reviewer");
        }
        const key = await myKey(me);
        const done = await submit(key, "ReviewRequested", me, {
          contribution: ask.contribution.value,
          reviewers,
        }, { message: ask.message.value });
        reloadWith(ask, _("Asked for a review (entry %(entry)s).", { entry: done.log_index }));
      },
      { unknown_person: "peer", self_review: "peer", duplicate_reviewer: "peer", erased: "peer" },
    ),
  );
}
