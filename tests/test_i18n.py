"""The pages in Dutch by default and in English on request (issue 17, api/i18n.py).

Every text marked for translation (templates, the pages' scripts, Python's N_) has a
Dutch translation that is neither empty nor fuzzy; the language comes from ``?lang=``
(then remembered in a cookie), the cookie, Accept-Language, else Dutch; dates and
numbers are written the Dutch way; the pages' scripts get their texts from the same
catalogue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.i18n import (
    LOCALE_DIR,
    extracted,
    from_accept_language,
    language,
    missing,
    template_environment,
)
from api.wording import TERMS, reason_text, skill_label
from projections.matching.reasons import Reason
from tests.support.api_server import UNLIMITED, Live, ensure_genesis, live_server

PAGES = ("/", "/employee", "/manager", "/auditor")


def test_every_marked_text_has_its_dutch() -> None:
    assert missing() == []


def test_the_check_finds_a_missing_translation(tmp_path: Path) -> None:
    """The check above fails when a new text is marked and not translated."""
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "api").mkdir()
    (tmp_path / "babel.cfg").write_text((root / "babel.cfg").read_text())
    (tmp_path / "api" / "templates").mkdir()
    (tmp_path / "api" / "templates" / "x.html").write_text(
        '{{ _("Employee") }} {{ _("A text nobody translated") }}'
    )
    (tmp_path / "api" / "locale").symlink_to(LOCALE_DIR)
    assert set(extracted(tmp_path)) == {"Employee", "A text nobody translated"}
    assert missing(root=tmp_path) == ["no entry: 'A text nobody translated' (api/templates/x.html)"]


def test_the_catalogue_reaches_every_kind_of_source() -> None:
    """Texts from the templates, the scripts and Python are all extracted."""
    files = {f for where in extracted().values() for f in where}
    assert any(f.startswith("api/templates/") for f in files)
    assert any(f.startswith("api/static/") and f.endswith(".js") for f in files)
    assert "api/wording.py" in files
    assert not any("vendor" in f for f in files)


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("", "nl"),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,en;q=0.8,nl;q=0.9", "nl"),
        ("de-DE,en;q=0.8", "en"),
        ("fr", "nl"),
        ("nl;q=0,en;q=0.1", "en"),
        ("*", "nl"),
        ("en;q=bad", "nl"),
    ],
)
def test_accept_language_picks_the_preferred_one_we_have(header: str, chosen: str) -> None:
    assert from_accept_language(header) == chosen


def test_dates_and_numbers_the_dutch_way(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text(
        "{{ day | date }}|{{ 1234567.5 | number }}|{{ 0.756 | number(2) }}|"
        "{{ moment | datetime }}|{{ 'on_request' | term }}|{{ _('Employee') }}|"
        "{{ 'data-analysis' | skill }}|{{ 'no-such-skill' | skill }}|{{ why | reason }}"
    )
    env = template_environment(tmp_path, TERMS, skill_label, reason_text)
    why = Reason("missing", {"skills": ["data-analysis"]})  # a matching reason, in words
    values = {"day": "2026-12-06", "moment": "2026-12-06T09:05:00Z", "why": why}
    nl = env.get_template("t.html").render(lang="nl", **values).split("|")
    en = env.get_template("t.html").render(lang="en", **values).split("|")
    assert nl[:3] == ["6 dec 2026", "1.234.567,5", "0,76"]
    assert en[:3] == ["Dec 6, 2026", "1,234,567.5", "0.76"]
    assert nl[3].startswith("6 dec 2026")
    assert nl[3].endswith("09:05:00 UTC")
    assert nl[4:] == [
        "op aanvraag",
        "Medewerker",
        "data-analyse",
        "no-such-skill",
        "ontbreekt: data-analyse",
    ]
    assert en[4:] == [
        "on request",
        "Employee",
        "data analysis",
        "no-such-skill",
        "missing: data analysis",
    ]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("i18n") / "ledger.db"
    with live_server(f"sqlite://{path.resolve().as_posix()}", UNLIMITED) as live:
        ensure_genesis(live)
        yield live


def _get(live: Live, path: str, **headers: str) -> httpx.Response:
    # A client of its own: the shared one asks for English.
    with httpx.Client(base_url=live.url, timeout=30) as client:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response


def _lang(page: httpx.Response) -> str:
    found = re.search(r'<html lang="([a-z]+)">', page.text)
    assert found, page.text[:200]
    return found.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_dutch_by_default(live: Live, path: str) -> None:
    page = _get(live, path)
    assert _lang(page) == "nl"
    assert page.headers["content-language"] == "nl"
    assert "Medewerker" in page.text
    assert ">Employee<" not in page.text
    assert ">Nederlands</a>" in page.text
    assert ">English</a>" in page.text


def test_english_from_the_browser_and_the_switch_is_remembered(live: Live) -> None:
    assert _lang(_get(live, "/", **{"accept-language": "en-US,en;q=0.9"})) == "en"
    with httpx.Client(base_url=live.url, timeout=30) as browser:
        chosen = browser.get("/employee", params={"lang": "en"})
        assert _lang(chosen) == "en"
        assert chosen.cookies.get("lang") == "en"
        assert _lang(browser.get("/manager")) == "en"  # remembered in the cookie
        # the switch back wins over the browser's preference, and is remembered too
        assert (
            _lang(browser.get("/auditor", params={"lang": "nl"}, headers={"accept-language": "en"}))
            == "nl"
        )
        assert _lang(browser.get("/", headers={"accept-language": "en"})) == "nl"
    assert _lang(_get(live, "/?lang=xx")) == "nl"  # an unknown language is ignored


def test_the_scripts_texts_come_from_the_catalogue(live: Live) -> None:
    """Each page embeds the Dutch of exactly the texts the pages' scripts use."""
    page = _get(live, "/employee")
    found = re.search(
        r'<script type="application/json" id="i18n-messages">(.*?)</script>', page.text, re.S
    )
    assert found
    table = json.loads(found.group(1))
    scripts = {
        msgid for msgid, files in extracted().items() if any(f.endswith(".js") for f in files)
    }
    assert set(table) == scripts
    assert table["Applied (entry %(entry)s)."] == "Gesolliciteerd (registratie %(entry)s)."
    assert table == dict(language("nl").scripts)
    english = _get(live, "/employee", **{"accept-language": "en"})
    assert '<script type="application/json" id="i18n-messages">{}</script>' in english.text


# Refusals a person cannot meet in the pages: the log's own integrity (a chain, a position,
# the genesis) and key rotation with a pre-committed key, which only the CLI does.
INTERNAL_CODES = {
    "bad_position",
    "chain_broken",
    "genesis_not_self_signed",
    "genesis_required",
    "not_current_key",
    "precommit_mismatch",
}


def test_every_rule_a_person_can_meet_has_words() -> None:
    """A new rule code fails this until api/wording.py RULES says it in the user's words."""
    import ledger.link
    from api.wording import RULES
    from tests.support.refusals import codes_in_source, rule_codes_raised

    raised = rule_codes_raised()
    assert raised - INTERNAL_CODES - set(RULES) == set()
    # and the refusals of an import (docs/rules.md "Raised on import"), which judge a
    # bundle rather than a statement
    on_import = codes_in_source(Path(ledger.link.__file__))
    assert on_import >= {"identity_unproven", "wrong_destination"}
    assert on_import - set(RULES) == set()
    assert raised >= INTERNAL_CODES  # no stale exception


def test_every_finding_of_a_full_audit_has_words() -> None:
    """Each failure code of docs/audit.md §2 is said in words on the auditor page: in
    api/wording.py AUDIT_FINDINGS, or (a rule an entry breaks) in RULES."""
    from api.wording import AUDIT_FINDINGS, RULES

    text = (Path(__file__).resolve().parent.parent / "docs" / "audit.md").read_text("utf-8")
    section = text.split("## 2. Failure codes", 1)[1].split("\n## ", 1)[0]
    codes = set(re.findall(r"^\| `([a-z_]+)`", section, re.M))
    assert {"content_missing", "merkle_mismatch", "chain_broken"} <= codes
    assert codes - set(AUDIT_FINDINGS) - set(RULES) == set()


def test_a_refusal_a_browser_navigates_to_is_a_page_in_its_words(live: Live) -> None:
    """A browser opening an address the API refuses gets a page, never raw JSON; a program
    still gets the problem document."""
    with httpx.Client(base_url=live.url, timeout=30) as client:
        browser = client.get(
            "/people/nobody/bundle",
            headers={"accept": "text/html,application/xhtml+xml", "sec-fetch-dest": "document"},
        )
        program = client.get("/people/nobody/bundle")
    assert browser.status_code == program.status_code == 401
    assert browser.headers["content-type"].startswith("text/html")
    assert _lang(browser) == "nl"
    assert "Je bent niet (meer) ingelogd: log opnieuw in." in browser.text
    assert "code unauthenticated" in browser.text
    assert program.headers["content-type"] == "application/problem+json"
    assert program.json()["code"] == "unauthenticated"
