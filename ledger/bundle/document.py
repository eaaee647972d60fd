"""The bundle document: its format name, its errors, strict JSON in and out, its shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..canonical import unique_members
from ..errors import ProofError

__all__ = [
    "FORMAT",
    "BundleError",
    "IncompleteBundle",
    "check_shape",
    "dump_bundle",
    "load_bundle",
]

FORMAT = "trackrecord-bundle/v1"
_TOP_FIELDS = frozenset(
    {"format", "person", "origin", "verifier_key", "checkpoint", "entries", "heads", "absent"}
)


class BundleError(ProofError):
    """A bundle that does not verify; ``code`` names the check, the evidence says where."""

    code = "bad_bundle"

    def __init__(self, code: str, message: str, **evidence: Any) -> None:
        super().__init__(message, **{k: v for k, v in evidence.items() if v is not None})
        self.code = code


class IncompleteBundle(BundleError):
    """A bundle that leaves out an entry or a stream it must carry (completeness)."""


# --- reading and writing the JSON ---------------------------------------------------


def _no_floats(text: str) -> Any:
    raise ValueError(f"non-integer number {text}")


def load_bundle(data: str | bytes) -> dict[str, Any]:
    """Parse bundle JSON strictly (UTF-8, no duplicate keys, no non-integer numbers).

    Raises :class:`BundleError` (``bad_format``) for anything else.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        doc = json.loads(
            text,
            object_pairs_hook=unique_members,
            parse_float=_no_floats,
            parse_constant=_no_floats,
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError("bad_format", f"the bundle is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BundleError("bad_format", "a bundle is a JSON object")
    return doc


def dump_bundle(bundle: Mapping[str, Any]) -> str:
    """Return the bundle as JSON text (UTF-8, 1-space indent, ending in a newline)."""
    return json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"


def check_shape(doc: dict[str, Any]) -> None:
    """Check the top-level fields of a parsed bundle; raise :class:`BundleError`."""
    if set(doc) != _TOP_FIELDS:
        raise BundleError("bad_format", f"a bundle is an object with exactly {sorted(_TOP_FIELDS)}")
    if doc["format"] != FORMAT:
        raise BundleError("bad_format", f"unknown bundle format {doc['format']!r}")
    for name in ("person", "origin", "verifier_key", "checkpoint"):
        if not isinstance(doc[name], str):
            raise BundleError("bad_format", f"{name} must be a string")
    if not isinstance(doc["entries"], list) or not doc["entries"]:
        raise BundleError("bad_format", "entries must be a non-empty array")
    for name in ("heads", "absent"):
        if not isinstance(doc[name], dict):
            raise BundleError("bad_format", f"{name} must be an object")
