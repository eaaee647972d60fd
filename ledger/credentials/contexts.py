"""The trackrecord JSON-LD context: every term a trackrecord credential adds to VC 2.0 and OB 3.0.

VC Data Model 2.0 §5.2.1 requires each term of a credential to be defined by a
context in its ``@context``. The W3C v2 and 1EdTech OB 3.0 contexts define the
envelope and the Open Badges terms; the members trackrecord adds (the evidence's
``statementId`` … ``checkpointRoot``, an endorsement's ``endorser``,
``endorserRole`` and ``grade``, a result's ``outcome``, and the VC 1.1
``issuanceDate`` that the published OB 3.0 JSON schema still requires) are
defined by :data:`TRACKRECORD_CONTEXT`, the file ``contexts/trackrecord-v1.jsonld``
shipped in this package and served by every trackrecord service at
:data:`TRACKRECORD_CONTEXT_PATH` (docs/credentials.md §4).

The file spells every IRI in full and defines no prefix (``xsd``, …): an
endorsement embedded in an achievement re-applies the OB 3.0 context after this
one, and a protected ``xsd`` term of ours would change how OB 3.0 expands its own
``"@type": "xsd:dateTime"``, a protected term redefinition that JSON-LD refuses.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = [
    "TRACKRECORD_CONTEXT",
    "TRACKRECORD_CONTEXT_PATH",
    "trackrecord_context",
    "trackrecord_context_bytes",
]

TRACKRECORD_CONTEXT_PATH = "/contexts/trackrecord/v1"
TRACKRECORD_CONTEXT = "https://trackrecord.dev" + TRACKRECORD_CONTEXT_PATH


@cache
def trackrecord_context_bytes() -> bytes:
    """Return the context document exactly as shipped (and served)."""
    return files(__package__).joinpath("contexts", "trackrecord-v1.jsonld").read_bytes()


def trackrecord_context() -> dict[str, Any]:
    """Return the context document (``{"@context": {...}}``) as a fresh JSON value."""
    doc: dict[str, Any] = json.loads(trackrecord_context_bytes())
    return doc
