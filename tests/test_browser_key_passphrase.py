"""The browser key under a passphrase (issue 16): in Chromium, a key is created with a
passphrase and kept only wrapped; signing (the login's challenge, a claim) asks for the
passphrase; a wrong one is refused next to its field and signs nothing; a cancelled dialog
signs nothing. Unlocked and logged in, the key stays unlocked for the session (kept as a
non-extractable CryptoKey): reloads and further changes sign without asking, until "Lock
now", logout, 15 minutes without a signature, or another session. A key an
earlier version of the pages kept unprotected is replaced by a protected one on its first
use, the old key signing the rotation (KeyRotated) to the new one.

These tests answer the passphrase dialog themselves (``new_context(passphrase=None)``);
every other browser test plays a person who types :data:`tests.support.browser.PASSPHRASE`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.api_server import (
    UNLIMITED,
    Live,
    ensure_genesis,
    live_server,
    login,
    operator_member,
)
from tests.support.browser import new_context, register_key

PASSPHRASE = "zeven zeeën zilt"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("passphrase") / "ledger.db"
    # sessions of an hour: the key's 15 minutes of idleness end before the session does
    config = dataclasses.replace(UNLIMITED, session_ttl=3600.0)
    with live_server(f"sqlite://{Path(path).resolve().as_posix()}", config) as live:
        ensure_genesis(live)
        yield live


_STORED = """() => new Promise((resolve, reject) => {
  const opened = indexedDB.open("trackrecord", 1);
  opened.onerror = () => reject(opened.error);
  opened.onsuccess = () => {
    const got = opened.result.transaction("keys").objectStore("keys").get("me");
    got.onsuccess = () => {
      const r = got.result;
      resolve({
        fields: Object.keys(r).sort(),
        protection: Object.keys(r.protection).sort(),
        kdf: r.protection.kdf,
        iterations: r.protection.iterations,
        wrapped: r.protection.wrapped.length,
      });
    };
  };
})"""


# The key kept unlocked for the session (trackrecord.js keepUnlocked), and whether WebCrypto
# lets a script export it.
_KEPT = """() => new Promise((resolve, reject) => {
  const opened = indexedDB.open("trackrecord", 1);
  opened.onerror = () => reject(opened.error);
  opened.onsuccess = () => {
    const got = opened.result.transaction("keys").objectStore("keys").get("unlocked");
    got.onsuccess = async () => {
      const r = got.result;
      if (!r) return resolve(null);
      let exported = "yes";
      try {
        await crypto.subtle.exportKey("pkcs8", r.privateKey);
      } catch (error) {
        exported = error.name;
      }
      resolve({
        fields: Object.keys(r).sort(),
        type: r.privateKey.type,
        extractable: r.privateKey.extractable,
        usages: r.privateKey.usages,
        exported,
      });
    };
  };
})"""


def _claim(page: Page, title: str) -> None:
    page.click("#tab-claim")
    page.fill("#title", title)
    page.fill("#skills", "python")
    page.fill("#start", "2026-09-01")
    page.click("#claim-form button[type=submit]")


def _claimed_without_asking(page: Page, server: Live, title: str) -> None:
    entry = server.size()  # the claim's index in the log
    _claim(page, title)
    _expect_claimed(page, entry)
    expect(page.locator("#passphrase-dialog")).to_have_count(0)


def _expect_claimed(page: Page, entry: int) -> None:
    """The page reloaded after claiming entry ``entry`` (its flash says so)."""
    expect(page.locator("#claim-heading + .success")).to_have_text(
        f"Claimed: entry {entry} of the log."
    )


def _answer(page: Page, passphrase: str, *, again: str | None = None) -> None:
    expect(page.locator("#passphrase-dialog")).to_be_visible()
    page.fill("#passphrase", passphrase)
    if again is not None:
        page.fill("#passphrase-again", again)
    page.click("#passphrase-ok")


def test_a_key_is_kept_under_its_passphrase_and_signs_only_unlocked(
    server: Live, chromium: Browser
) -> None:
    context = new_context(chromium, passphrase=None)
    try:
        page = context.new_page()
        page.goto(server.url + "/employee")
        page.fill("#new-person", "pass-pia")
        page.click("#create-key button")
        _answer(page, "kort", again="kort")
        expect(page.locator("#passphrase-error")).to_contain_text("at least 10 characters")
        _answer(page, PASSPHRASE, again=PASSPHRASE + "!")
        expect(page.locator("#passphrase-again-error")).to_contain_text("differ")
        _answer(page, PASSPHRASE, again=PASSPHRASE)
        expect(page.locator("#key-present")).to_be_visible()
        stored: dict[str, Any] = page.evaluate(_STORED)
        assert stored == {
            "fields": ["keyId", "person", "protection", "publicKey"],  # no privateKey
            "protection": ["iterations", "iv", "kdf", "salt", "wrapped"],
            "kdf": "PBKDF2-SHA-256",
            "iterations": 600_000,
            "wrapped": 64,  # PKCS #8 of Ed25519 (48 bytes) and the GCM tag (16)
        }
        register_key(server, "pass-pia", page.locator("#key-public").inner_text().strip())

        page.reload()  # a new page load: the key is locked
        page.click("#login")
        expect(page.locator("#passphrase-title")).to_have_text("Unlock your key")
        _answer(page, "not the passphrase")
        expect(page.locator("#passphrase-error")).to_contain_text("Wrong passphrase")
        expect(page.locator("#passphrase-dialog")).to_be_visible()  # asked again
        assert not [c for c in context.cookies() if c["name"] == "trackrecord_session"]
        with page.expect_navigation():
            _answer(page, PASSPHRASE)
        expect(page.locator("#viewer")).to_have_text("pass-pia")

        # Logged in, the key stays unlocked: the login's page load and a reload sign without
        # asking, with the key kept as a CryptoKey that no script can export.
        size = server.size()
        _claimed_without_asking(page, server, "Claimed with the key kept unlocked")
        page.reload()
        _claimed_without_asking(page, server, "Claimed again after a reload")
        expect(page.locator("#passphrase-dialog")).to_have_count(0)
        assert server.size() == size + 2
        assert page.evaluate(_KEPT) == {
            "fields": ["expiresAt", "keyId", "privateKey", "session", "usedAt"],  # no bytes
            "type": "private",
            "extractable": False,
            "usages": ["sign"],
            "exported": "InvalidAccessError",
        }

        # "Lock now" locks it: claiming asks again; cancelling signs nothing.
        page.click("#lock-key")
        expect(page.locator("#status")).to_contain_text("Your key is locked")
        expect(page.locator("#lock-key")).to_be_hidden()
        assert page.evaluate(_KEPT) is None
        size = server.size()
        _claim(page, "Passphrase-protected claim")
        expect(page.locator("#passphrase-title")).to_have_text("Unlock your key")
        page.click("#passphrase-cancel")
        expect(page.locator("#passphrase-dialog")).to_have_count(0)
        expect(page.locator("#claim-form")).to_contain_text("Nothing was signed")
        assert server.size() == size
        page.click("#claim-form button[type=submit]")
        _answer(page, PASSPHRASE)
        _expect_claimed(page, size)
        assert server.size() == size + 1

        # Logging out (keeping the key) locks it: the next login asks again.
        page.once("dialog", lambda dialog: dialog.dismiss())  # "also remove your key?" no
        with page.expect_navigation():
            page.click("#logout")
        assert page.evaluate(_KEPT) is None
        page.click("#login")
        expect(page.locator("#passphrase-title")).to_have_text("Unlock your key")
    finally:
        context.close()


_OLD_KEY = """async (person) => {
  // what the pages kept before passphrases: a non-extractable key in IndexedDB, unwrapped
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const tagged = new Uint8Array([...new TextEncoder().encode("trackrecord:key-id:v1\\0"), ...raw]);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", tagged));
  const hex = Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0"));
  const keyId = "ed25519:" + hex.join("");
  const publicKey = btoa(String.fromCharCode(...raw));
  await new Promise((resolve, reject) => {
    const opened = indexedDB.open("trackrecord", 1);
    opened.onupgradeneeded = () => opened.result.createObjectStore("keys");
    opened.onsuccess = () => {
      const tx = opened.result.transaction("keys", "readwrite");
      tx.objectStore("keys").put({ person, privateKey: pair.privateKey, publicKey, keyId }, "me");
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    };
  });
  return { publicKey, keyId };
}"""


def test_an_unprotected_key_is_replaced_by_a_protected_one(server: Live, chromium: Browser) -> None:
    context = new_context(chromium, passphrase=None)
    try:
        page = context.new_page()
        page.goto(server.url + "/employee")
        old: dict[str, str] = page.evaluate(_OLD_KEY, "pass-oma")
        register_key(server, "pass-oma", old["publicKey"])
        page.reload()
        expect(page.locator("#key-id")).to_have_text(old["keyId"])
        page.click("#login")
        expect(page.locator("#passphrase-title")).to_have_text("Protect your key with a passphrase")
        with page.expect_navigation():
            _answer(page, PASSPHRASE, again=PASSPHRASE)
        expect(page.locator("#viewer")).to_have_text("pass-oma")
        person = server.client.get("/people/pass-oma").json()
        assert person["current_key"] != old["keyId"]
        keys = {k["key_id"]: k for k in person["keys"]}
        assert keys[old["keyId"]]["retired_at"] is not None  # the old key signed its rotation
        assert keys[person["current_key"]]["retired_at"] is None
        admin = {"Authorization": f"Bearer {login(server, operator_member().identity)}"}
        entries = server.client.get("/people/pass-oma/record", headers=admin).json()
        statements = [e["entry"]["statement"] for e in entries["items"] if e["entry"]]
        rotated = [st["author"] for st in statements if st["type"] == "KeyRotated"]
        assert rotated == [old["keyId"]]  # not an admin
        stored: dict[str, Any] = page.evaluate(_STORED)
        assert "protection" in stored["fields"]
        assert "privateKey" not in stored["fields"]
    finally:
        context.close()


def test_the_key_stays_unlocked_until_idle_or_another_session(
    server: Live, chromium: Browser
) -> None:
    context = new_context(chromium, passphrase=None)
    try:
        page = context.new_page()
        page.clock.install()  # the page's clock, which the test moves on
        page.goto(server.url + "/employee")
        page.fill("#new-person", "pass-ida")
        page.click("#create-key button")
        _answer(page, PASSPHRASE, again=PASSPHRASE)
        expect(page.locator("#key-present")).to_be_visible()
        register_key(server, "pass-ida", page.locator("#key-public").inner_text().strip())
        page.reload()
        page.click("#login")
        with page.expect_navigation():
            _answer(page, PASSPHRASE)
        expect(page.locator("#lock-key")).to_be_visible()

        # 14 minutes without a signature: still unlocked; the claim's signature starts the
        # 15 minutes again, so 14 more keep it unlocked too.
        page.clock.fast_forward("14:00")
        _claimed_without_asking(page, server, "Claimed 14 minutes after the login")
        page.clock.fast_forward("14:00")
        _claimed_without_asking(page, server, "Claimed 14 minutes after the last claim")

        # 15 minutes without one: locked, the next signature asks.
        page.clock.fast_forward("15:01")
        expect(page.locator("#lock-key")).to_be_hidden()  # the page locked it as time ran out
        assert page.evaluate(_KEPT) is None
        entry = server.size()
        _claim(page, "Claimed after the idle time-out")
        expect(page.locator("#passphrase-title")).to_have_text("Unlock your key")
        _answer(page, PASSPHRASE)
        _expect_claimed(page, entry)
        assert page.evaluate(_KEPT) is not None

        # The session ends elsewhere (here: the cookie is gone): the next page, shown
        # without a session, deletes the key kept for it.
        context.clear_cookies()
        page.reload()
        page.wait_for_function(f"async () => (await ({_KEPT})()) === null")
    finally:
        context.close()
