"""Open Badges 3.0 credentials of a verified record: contributions, endorsements, assignments.

From a bundle that verifies (:func:`ledger.bundle.verify_bundle`) with the
operator's key, :func:`issue_credentials` issues, signed by that same key:

- per endorsed, not withdrawn contribution: an ``AchievementCredential`` whose
  achievement embeds one ``EndorsementCredential`` per endorsement that was not
  revoked (each also returned on its own);
- per completed assignment: an ``AchievementCredential`` with
  ``achievementType`` ``Assignment`` and the owner's grade as its result.

The issuer is the ledger: it vouches that these statements are in its verified
log. Each credential's ``evidence`` names the original signed entries (entry
hash, log index, stream, seq) and the checkpoint (origin, size, root) so a
verifier can go back to the bundle and check them there; its
``credentialStatus`` is the bit of the entry it rests on in the status lists the
service at ``public_url`` serves (:mod:`.status`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keys import Identity

from ..bundle import BundleReport
from .contexts import TRACKRECORD_CONTEXT
from .record import VerifiedRecord, verified_record
from .status import status_entry
from .vc import CredentialIssuer, credential, credential_id

__all__ = ["OB_V3_CONTEXT", "IssuedCredential", "issue_credentials"]

OB_V3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


@dataclass(frozen=True)
class IssuedCredential:
    """One signed credential and the file name it is exported under."""

    filename: str
    document: dict[str, Any]

    def dumps(self) -> str:
        """Return the credential as indented JSON text with a final line feed."""
        return json.dumps(self.document, indent=1, ensure_ascii=False) + "\n"


def _evidence(record: VerifiedRecord, statement_id: str, what: str) -> dict[str, Any]:
    e = record.entries[statement_id]
    s, r = e.statement, record.report
    return {
        "type": ["Evidence"],
        "name": f"{s['type']} entry {e.entry['stream']}#{e.entry['seq']}",
        "narrative": f"{what}: the signed {s['type']} statement {s['id']}, entry "
        f"{e.entry['seq']} of stream {e.entry['stream']} at log index {e.log_index}, "
        f"included in checkpoint {r.checkpoint_size} of {r.origin}.",
        "statementId": s["id"],
        "statementType": s["type"],
        "stream": e.entry["stream"],
        "seq": e.entry["seq"],
        "logIndex": e.log_index,
        "entryHash": e.entry_hash(),
        "checkpointOrigin": r.origin,
        "checkpointSize": r.checkpoint_size,
        "checkpointRoot": r.checkpoint_root,
    }


def _status(record: VerifiedRecord, public_url: str, statement_id: str) -> dict[str, Any]:
    """The ``credentialStatus`` of a credential resting on this statement's entry."""
    return status_entry(public_url, record.entries[statement_id].log_index)


def _subject(report: BundleReport, achievement: dict[str, Any]) -> dict[str, Any]:
    identifier = [
        {
            "type": "IdentityObject",
            "hashed": False,
            "identityHash": report.person,
            "identityType": "ext:trackrecordPerson",
        }
    ]
    if report.display_name:
        identifier.append(
            {
                "type": "IdentityObject",
                "hashed": False,
                "identityHash": report.display_name,
                "identityType": "name",
            }
        )
    return {"type": ["AchievementSubject"], "identifier": identifier, "achievement": achievement}


def _endorsements(
    record: VerifiedRecord,
    issuer: CredentialIssuer,
    contribution: str,
    title: str,
    created: str,
    public_url: str,
) -> list[IssuedCredential]:
    out = []
    origin = record.report.origin
    for e in record.report.endorsements:
        if e.contribution != contribution:
            continue
        given = record.entries[e.id]
        comment = given.disclosed.get("comment")
        by = e.endorser_name or e.endorser
        text = f"{e.role} endorsement by {by}, grade {e.grade}" + (
            f": {comment}" if comment else ""
        )
        doc = credential(
            contexts=[OB_V3_CONTEXT, TRACKRECORD_CONTEXT],
            types=["EndorsementCredential"],
            id=credential_id(origin, "endorsement", e.id),
            name=f"Endorsement of {title!r} by {by}",
            description=f"{by} endorsed this contribution as {e.role}; {origin} vouches that "
            "the signed endorsement is in its verified log.",
            issuer=issuer,
            valid_from=created,
            subject={
                "id": f"urn:uuid:{contribution}",
                "type": ["EndorsementSubject"],
                "endorsementComment": text,
                "endorser": e.endorser,
                "endorserRole": e.role,
                "grade": e.grade,
            },
            evidence=[_evidence(record, e.id, "the endorsement")],
            credentialStatus=_status(record, public_url, e.id),
            issuanceDate=created,
            awardedDate=given.statement["issued_at"],
        )
        out.append(
            IssuedCredential(f"endorsement-{e.id}.json", issuer.secure(doc, created=created))
        )
    return out


def _contributions(
    record: VerifiedRecord, issuer: CredentialIssuer, created: str, public_url: str
) -> list[IssuedCredential]:
    out: list[IssuedCredential] = []
    report, origin = record.report, record.report.origin
    endorsed = {e.contribution for e in report.endorsements}
    for c in report.contributions:
        if c.withdrawn or c.id not in endorsed:
            continue
        title = c.title or "Contribution (title withheld)"
        endorsements = _endorsements(record, issuer, c.id, title, created, public_url)
        claim = record.entries[c.id]
        achievement = {
            "id": f"urn:uuid:{c.id}",
            "type": ["Achievement"],
            "achievementType": "ext:WorkContribution",
            "name": title,
            "description": f"A {claim.statement['body']['kind']} contribution on the record of "
            f"{report.display_name or report.person}, endorsed {len(endorsements)} time(s).",
            "criteria": {
                "narrative": "Claimed by the employee in a signed statement and endorsed by "
                "others in signed statements, all in the ledger's verified log."
            },
            "tag": list(c.skills),
            "endorsement": [x.document for x in endorsements],
        }
        doc = credential(
            contexts=[OB_V3_CONTEXT, TRACKRECORD_CONTEXT],
            types=["AchievementCredential"],
            id=credential_id(origin, "contribution", c.id),
            name=title,
            description=f"Endorsed work contribution, vouched for by {origin}.",
            issuer=issuer,
            valid_from=created,
            subject=_subject(report, achievement),
            evidence=[_evidence(record, c.id, "the claim")]
            + [
                _evidence(record, e.id, "an endorsement")
                for e in report.endorsements
                if e.contribution == c.id
            ],
            credentialStatus=_status(record, public_url, c.id),
            issuanceDate=created,
            awardedDate=claim.statement["issued_at"],
        )
        out.append(
            IssuedCredential(f"contribution-{c.id}.json", issuer.secure(doc, created=created))
        )
        out.extend(endorsements)
    return out


def _assignments(
    record: VerifiedRecord, issuer: CredentialIssuer, created: str, public_url: str
) -> list[IssuedCredential]:
    out = []
    report, origin = record.report, record.report.origin
    for a in report.assignments_completed:
        done, posted = record.completion(a.id), record.posted(a.id)
        title = a.title or "Assignment (title withheld)"
        achievement = {
            "id": f"urn:uuid:{a.id}",
            "type": ["Achievement"],
            "achievementType": "Assignment",
            "name": title,
            "description": f"An assignment posted by {a.owner}, completed by "
            f"{report.display_name or report.person}.",
            "criteria": {"narrative": "Completion confirmed by the assignment's owner."},
        }
        subject = _subject(report, achievement)
        subject["result"] = [{"type": ["Result"], "value": str(a.grade), "outcome": a.outcome}]
        note = done.disclosed.get("outcome_note")
        if note:
            subject["narrative"] = note
        doc = credential(
            contexts=[OB_V3_CONTEXT, TRACKRECORD_CONTEXT],
            types=["AchievementCredential"],
            id=credential_id(origin, "assignment", done.statement["id"]),
            name=title,
            description=f"Completed assignment ({a.outcome}), vouched for by {origin}.",
            issuer=issuer,
            valid_from=created,
            subject=subject,
            evidence=[
                _evidence(record, posted.statement["id"], "the assignment"),
                _evidence(record, done.statement["id"], "the completion"),
            ],
            credentialStatus=_status(record, public_url, done.statement["id"]),
            issuanceDate=created,
            awardedDate=done.statement["issued_at"],
        )
        out.append(IssuedCredential(f"assignment-{a.id}.json", issuer.secure(doc, created=created)))
    return out


def issue_credentials(
    bundle: str | bytes | Mapping[str, Any],
    *,
    operator: Identity,
    created: str,
    public_url: str,
) -> list[IssuedCredential]:
    """Return the signed credentials of a bundle's person, issued by the ledger's operator.

    The bundle is verified with ``operator``'s key as the only trusted key, so
    only the operator of the ledger that signed its checkpoint can issue them.
    ``created`` (an XML Schema dateTime with ``Z``) is the issuance time;
    ``public_url`` is where the ledger's service is reached, which serves the
    status lists the credentials point at.
    Raises :class:`~ledger.bundle.BundleError` if the bundle does not verify.
    """
    record = verified_record(bundle, operator=operator)
    issuer = CredentialIssuer.from_identity(operator, record.report.origin)
    return _contributions(record, issuer, created, public_url) + _assignments(
        record, issuer, created, public_url
    )
