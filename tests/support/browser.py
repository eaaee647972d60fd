"""Headless Chromium for the browser tests: Debian's ``chromium``, driven by Playwright.

The :func:`chromium` fixture (registered for every test module by ``tests/conftest.py``)
gives one browser per test module, :func:`operated_server` one server on a fresh ledger;
screenshots of the journeys go to :data:`ARTIFACTS` (``test-artifacts/browser/`` in the
checkout, :func:`shot`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from ledger import commands
from ledger.canonical import b64decode
from tests.factories import DEPT, ORG
from tests.support.api_server import (
    UNLIMITED,
    HttpLedger,
    Live,
    ensure_genesis,
    live_server,
    operator_member,
)

__all__ = [
    "ARTIFACTS",
    "CHROMIUM",
    "LAUNCH_ARGS",
    "PASSPHRASE",
    "TIMEOUT_MS",
    "chromium",
    "create_key_and_register",
    "horizontal_overflow",
    "new_context",
    "open_tab",
    "operated_server",
    "register_key",
    "script_problems",
    "shot",
]

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Chromium from Debian's package (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def operated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server per test module, run by the operator (who signs checkpoints), on a fresh
    SQLite ledger with its genesis."""
    path = tmp_path_factory.mktemp("browser") / "ledger.db"
    operator = operator_member().identity
    with live_server(f"sqlite://{path.resolve().as_posix()}", UNLIMITED, operator=operator) as live:
        ensure_genesis(live)
        yield live


#: the passphrase the tests' people protect their browser keys with
PASSPHRASE = "correct horse battery staple"

# The person at the keyboard, as the tests play them: whenever a page asks for the key's
# passphrase (the dialog of trackrecord.js askPassphrase: a new one, typed twice, or the
# one that unlocks the key), they type it and confirm. Only what a person does: the
# fields are filled and the form submitted; the page's code is not touched.
_TYPES_PASSPHRASE = """
(() => {
  const passphrase = %s;
  const answer = () => {
    const dialog = document.getElementById("passphrase-dialog");
    if (!dialog || !dialog.open || dialog.dataset.answered) return;
    dialog.dataset.answered = "yes";
    dialog.querySelector("#passphrase").value = passphrase;
    dialog.querySelector("#passphrase-again").value = passphrase;
    dialog.querySelector("form").requestSubmit();
  };
  new MutationObserver(answer).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["open"],
  });
})();
"""


def new_context(
    chromium: Browser,
    locale: str = "en-US",
    *,
    passphrase: str | None = PASSPHRASE,
    width: int | None = None,
) -> BrowserContext:
    """A fresh browser profile (its own key storage and session cookie) whose browser asks
    for ``locale``'s language (the pages answer in it: Dutch for ``nl-NL``), used by
    someone who types ``passphrase`` whenever a page asks for their key's (None: the test
    answers the passphrase dialog itself); ``width``: a window that many CSS pixels wide
    (390: a phone), else Playwright's 1280."""
    viewport = None if width is None else {"width": width, "height": 844}
    context = chromium.new_context(accept_downloads=True, locale=locale, viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    if passphrase is not None:
        context.add_init_script(_TYPES_PASSPHRASE % json.dumps(passphrase))
    return context


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot of ``page`` as ``ARTIFACTS/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def open_tab(page: Page, url: str, tab: str) -> None:
    """Load ``url`` afresh (a goto to the same page with another #fragment would not
    reload it) and open its tab ``tab`` (the heading id minus ``-heading``)."""
    page.goto(url)
    page.click(f"#tab-{tab}")


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels ``page`` is wider than its window (0: no horizontal scrolling)."""
    width: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return max(width, 0)


def create_key_and_register(
    live: Live,
    page: Page,
    person: str,
    *,
    manager_of: str | None = None,
    department: str = DEPT,
) -> None:
    """In the page: create a key. At the admin's command line (here: the API): register it
    in ``department`` (of the organisation ``ORG``), a manager of ``manager_of`` if given."""
    page.goto(live.url + ("/manager" if manager_of else "/employee"))
    page.fill("#new-person", person)
    page.click("#create-key button")
    expect(page.locator("#key-present")).to_be_visible()
    public_key = page.locator("#key-public").inner_text().strip()
    register_key(live, person, public_key, manager=manager_of is not None, department=department)
    page.click("#login")
    expect(page.locator("#viewer")).to_have_text(person)


def register_key(
    live: Live, person: str, public_key: str, *, manager: bool = False, department: str = DEPT
) -> None:
    """As the admin at the command line (here: the API): register ``person`` in
    ``department`` with the public key (base64) their browser made, and make them the
    manager of DEPT if asked."""
    op = ensure_genesis(live)
    batch = [
        commands.register_identity(
            op.signer,
            person=person,
            public_key=b64decode(public_key, length=32),
            organisation=ORG,
            department=department,
            display_name=person.title(),
        )
    ]
    if manager:
        batch.append(commands.grant_role(op.signer, person=person, role="manager", scope=DEPT))
    HttpLedger(live).append_batch(batch)


def script_problems(
    page: Page, ignore: Callable[[ConsoleMessage], bool] = lambda message: False
) -> list[str]:
    """The list that every console error (but those ``ignore`` accepts) and uncaught
    exception of ``page`` is added to from now on."""
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not ignore(message):
            problems.append(f"console error: {message.text} ({message.location})")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems
