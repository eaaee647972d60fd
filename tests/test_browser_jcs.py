"""The browser signs exactly what Python verifies: RFC 8785 bytes and Ed25519 signatures.

Runs the pages' own JavaScript (``api/static/jcs.js``, ``api/static/trackrecord.js``)
in real Chromium (Debian's ``chromium``, driven by Playwright) on a page served by a real
uvicorn server, and compares with :func:`ledger.canonical.canonical_bytes` and the
ledger's parser and signature check — with non-ASCII text, non-BMP characters, control
characters, keys whose UTF-16 and code-point orders differ, and integers at the edges.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser, Page

from keys import Purpose, key_id_for, verify_signature
from ledger.canonical import canonical_bytes
from ledger.statement import parse_signed_statement
from tests.support.api_server import UNLIMITED, live_server
from tests.support.browser import new_context

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(chromium: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """A page of a running server (a secure context, so WebCrypto is there)."""
    path = tmp_path_factory.mktemp("jcs") / "ledger.db"
    with live_server(f"sqlite://{path.resolve().as_posix()}", UNLIMITED) as live:
        context = new_context(chromium)  # someone who types the key's passphrase when asked
        p = context.new_page()
        p.goto(live.url + "/auditor")
        yield p
        context.close()


def _browser_jcs(page: Page, values: list[Any]) -> list[str]:
    # Sent as JSON text and parsed in the page, as the page gets JSON from the service:
    # Playwright's own argument transport assigns members, which turns a "__proto__"
    # key into the object's prototype instead of a member.
    result: list[str] = page.evaluate(
        """async (text) => {
            const { canonicalize } = await import("/static/jcs.js");
            return JSON.parse(text).map((v) => canonicalize(v));
        }""",
        json.dumps(values),
    )
    return result


TRICKY: list[Any] = [
    "Zoë's analyse, coördinatie",
    "日本語のテキスト",
    "emoji 🎉 and 𝄞 outside the BMP",
    "controls \u0000 \u0001 \u001f \u007f \b \f \n \r \t",
    'quote " and backslash \\ and slash /',
    "line separators \u2028 \u2029",
    {"é": 1, "z": 2, "😀": 3, "\uffff": 4, "a": [True, False, None]},
    {"b": {"d": [], "c": {}}, "a": -1, "A": 0},
    [2**53 - 1, -(2**53 - 1), 0, -0, 1],
    {"nested": [{"y": "ÿ", "x": ["ß", {"€": "€"}]}]},
    "",
]


def test_browser_canonical_json_matches_python(page: Page) -> None:
    got = _browser_jcs(page, TRICKY)
    assert got == [canonical_bytes(v).decode("utf-8") for v in TRICKY]


def test_browser_refuses_what_it_cannot_canonicalize(page: Page) -> None:
    refused = page.evaluate(
        """async () => {
            const { canonicalize } = await import("/static/jcs.js");
            const out = [];
            for (const v of [1.5, 2 ** 53, NaN, undefined]) {
                try { canonicalize(v); out.push("accepted"); } catch (e) { out.push("refused"); }
            }
            return out;
        }"""
    )
    assert refused == ["refused"] * 4


_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=10, deadline=None)
@given(values=st.lists(_JSON, min_size=20, max_size=20))
def test_browser_canonical_json_matches_python_on_random_values(
    page: Page, values: list[Any]
) -> None:
    assert _browser_jcs(page, values) == [canonical_bytes(v).decode("utf-8") for v in values]


def test_statement_signed_in_the_browser_verifies_in_python(page: Page) -> None:
    signed: dict[str, Any] = page.evaluate(
        """async () => {
            const tr = await import("/static/trackrecord.js");
            const key = await tr.createKey("zoe.de-vries");  // kept wrapped, unlocked here
            const submission = await tr.signStatement(
                key,
                "ledger.example/één",
                "ContributionClaimed",
                "zoe.de-vries",
                { part: "dossier", kind: "work", skills: ["data-analysis"],
                  period: { start: "2026-09-01" }, evidence_sha256: "ab".repeat(32) },
                { title: "Analyse van fraude­risico’s — Zoë 🎉", description: "日本語 \\u2028 ok" },
            );
            return { submission, publicKey: key.publicKey, keyId: key.keyId };
        }"""
    )
    public_key = base64.b64decode(signed["publicKey"])
    assert signed["keyId"] == key_id_for(public_key)
    parsed = parse_signed_statement(signed["submission"])  # checks every disclosure digest
    parsed.statement.verify_signature(public_key=public_key, signature=parsed.signature)
    assert parsed.statement.author == key_id_for(public_key)
    assert parsed.statement.ledger == "ledger.example/één"
    assert parsed.disclosed()["title"] == "Analyse van fraude\u00adrisico’s — Zoë 🎉"
    assert parsed.statement.canonical == canonical_bytes(signed["submission"]["statement"])


def test_login_signature_made_in_the_browser(page: Page) -> None:
    made: dict[str, str] = page.evaluate(
        """async () => {
            const tr = await import("/static/trackrecord.js");
            const key = await tr.createKey("zoe.de-vries");
            const sig = await tr.signFor("challenge", new TextEncoder().encode("x:login:ñ"), key);
            return { publicKey: key.publicKey, signature: tr.b64(sig) };
        }"""
    )
    verify_signature(
        public_key=base64.b64decode(made["publicKey"]),
        purpose=Purpose.CHALLENGE,
        payload="x:login:ñ".encode(),
        signature=base64.b64decode(made["signature"]),
    )
