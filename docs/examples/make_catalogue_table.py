"""Make the statement catalogue tables of docs/entry.md from ``ledger/catalogue.py``.

The tables are generated, not written by hand, so that the field names, value
forms, limits and personal fields in the documentation are exactly the ones the
code validates: they are read from ``ledger.catalogue.CATALOGUE`` and the JSON
Schema of each body model.

Usage, from the repository root::

    .venv/bin/python docs/examples/make_catalogue_table.py            # print the Markdown
    .venv/bin/python docs/examples/make_catalogue_table.py --check docs/entry.md
    .venv/bin/python docs/examples/make_catalogue_table.py --write docs/entry.md

``--check`` exits 1 unless the file holds exactly the printed block between the
markers ``<!-- BEGIN make_catalogue_table -->`` and ``<!-- END make_catalogue_table -->``;
``--write`` replaces that block.
"""

from __future__ import annotations

import sys
from typing import Any

from _docblock import run

from ledger import catalogue

__all__ = ["NAMED_PATTERNS", "main", "render"]

BEGIN = "<!-- BEGIN make_catalogue_table -->"
END = "<!-- END make_catalogue_table -->"

NAMED_PATTERNS: dict[str, tuple[str, str]] = {
    catalogue.SLUG_RE: ("slug", "a person, organisation or other id"),
    catalogue.DEPARTMENT_RE: ("department", "`<organisation slug>/<department slug>`"),
    catalogue.SKILL_RE: ("skill", "a skill or tag"),
    catalogue.HEX64_RE: ("hex64", "a SHA-256 digest, 64 lowercase hex digits"),
    catalogue.B64_32_RE: (
        "public-key",
        "32 bytes in standard base64 with padding; must also be the *canonical* encoding "
        "(re-encoding the decoded bytes gives the same string), checked by the rules",
    ),
    catalogue.B64_64_RE: (
        "signature",
        "64 bytes in standard base64 with padding (an Ed25519 signature); canonical, "
        "checked by the rules",
    ),
    catalogue.KEY_ID_RE: ("key-id", "a key id (see Key ids)"),
    catalogue.UUID_RE: ("uuid", "a statement id or assignment id, lowercase"),
    r"^\d{4}-\d{2}-\d{2}$": (
        "date",
        "a calendar date `YYYY-MM-DD` that exists (`2026-02-30` is refused)",
    ),
}


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = defs[ref.rsplit("/", 1)[1]]
    return resolved


def _value(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """A short description of the JSON values a schema accepts."""
    schema = _resolve(schema, defs)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        nullable = len(options) < len(schema["anyOf"])
        text = " or ".join(_value(s, defs) for s in options)
        return text + (" or `null`" if nullable else "")
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        pattern = schema.get("pattern")
        if pattern is not None:
            return NAMED_PATTERNS[pattern][0]
        if "maxLength" in schema:
            return f"string of at most {schema['maxLength']} characters"
        return "string"
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"integer {low}–{high}"
        return "integer"
    if kind == "array":
        item = _value(schema["items"], defs)
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        count = f"{low}–{high}" if high is not None else f"at least {low}"
        return f"array of {count} {item}"
    if kind == "object":
        fields = ", ".join(
            f"`{name}`"
            + ("" if name in schema.get("required", ()) else " (optional)")
            + ": "
            + _value(sub, defs)
            for name, sub in schema["properties"].items()
        )
        return "object {" + fields + "}, no other fields"
    raise SystemExit(f"no description for schema {schema!r}: extend make_catalogue_table.py")


def _rows(st: catalogue.StatementType) -> list[str]:
    schema = st.body_model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    label = f"`{st.name}`"
    rows = []
    for name, sub in schema["properties"].items():
        if name == "commitments":
            continue
        presence = "required" if name in required else "optional"
        rows.append(f"| {label} | `{name}` | {_value(sub, defs)} | {presence} |")
        label = ""
    for p in st.personal:
        presence = "required" if p.required else "optional"
        rows.append(
            f"| {label} | *`{p.name}`* (personal) | string of at most {p.max_length} "
            f"characters | {presence} |"
        )
        label = ""
    if not rows:
        rows.append(f"| {label} | (none) | | |")
    return rows


def render() -> str:
    """The Markdown block that docs/entry.md embeds between the markers."""
    lines = [
        BEGIN,
        "<!-- Generated by docs/examples/make_catalogue_table.py; do not edit by hand. -->",
        "",
        "Named value forms (each a JSON string matching the regular expression as a "
        "whole; see the note on `$` below):",
        "",
        "| Name | Regular expression | Meaning |",
        "|---|---|---|",
    ]
    for pattern, (name, meaning) in NAMED_PATTERNS.items():
        lines.append(f"| {name} | `{pattern}` | {meaning} |")
    lines += [
        "",
        "Statement types, by stream kind (the stream of a statement is `<stream kind>/<subject>`):",
        "",
        "| Type | Stream kind | Subject | Personal fields |",
        "|---|---|---|---|",
    ]
    for st in catalogue.CATALOGUE.values():
        subject = "uuid" if st.stream_kind is catalogue.StreamKind.ASSIGNMENT else "slug"
        personal = ", ".join(
            f"`{p.name}`{'' if p.required else ' (optional)'}" for p in st.personal
        )
        lines.append(f"| `{st.name}` | `{st.stream_kind.value}` | {subject} | {personal or '—'} |")
    lines += [
        "",
        "Body fields. *Clear* fields are signed as they are; *personal* fields (in "
        "italics) never appear in the body: the body's `commitments` object maps each "
        "disclosed or withheld personal field to its disclosure digest, and the value "
        "travels in a disclosure. Lengths count Unicode code points.",
        "",
        "| Type | Field | Value | Presence |",
        "|---|---|---|---|",
    ]
    for st in catalogue.CATALOGUE.values():
        lines += _rows(st)
    lines.append(END)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print, check or write the catalogue tables; return the exit status."""
    return run(
        argv,
        description=__doc__.splitlines()[0],
        render=render,
        begin=BEGIN,
        end=END,
        what="catalogue tables",
    )


if __name__ == "__main__":
    sys.exit(main())
