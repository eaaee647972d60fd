"""A real OpenID Connect provider for the tests: ``tests/support/oidc_provider.mjs`` (the
``oidc-provider`` package from ``tests/node``) run under node on a free loopback port.

:func:`oidc_provider` starts it for one relying party (a client id, secret and redirect
URI) and a few accounts; the provider's own login and consent pages sign them in
(:func:`sign_in` fills them in Chromium).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from api.oidc import OidcProvider
from tests.support.api_server import loopback_socket

__all__ = ["RunningProvider", "oidc_provider", "sign_in"]

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "oidc_provider.mjs"
NODE_MODULES = HERE.parent / "node" / "node_modules"


@dataclass(frozen=True)
class RunningProvider:
    """The provider as the service is configured for it."""

    issuer: str
    settings: OidcProvider


def _free_port() -> int:
    sock = loopback_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@contextlib.contextmanager
def oidc_provider(
    *, redirect_uri: str, organisation: str, accounts: Mapping[str, Mapping[str, object]]
) -> Iterator[RunningProvider]:
    """Run the provider until the block ends, for a client returning to ``redirect_uri``."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "oidc-provider").is_dir():
        pytest.fail("node and tests/node are needed: npm ci --prefix tests/node", pytrace=False)
    port = _free_port()
    config = {
        "port": port,
        "client_id": "trackrecord",
        "client_secret": "a-test-client-secret-of-enough-length",
        "redirect_uri": redirect_uri,
        "accounts": accounts,
    }
    process = subprocess.Popen(
        [node, str(SCRIPT), json.dumps(config)],
        cwd=HERE.parent / "node",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        issuer = f"http://127.0.0.1:{port}"
        _wait_until_serving(process, issuer)
        yield RunningProvider(
            issuer,
            OidcProvider(
                issuer=issuer,
                client_id=str(config["client_id"]),
                client_secret=str(config["client_secret"]),
                organisation=organisation,
                label="Test IdP",
            ),
        )
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(process: subprocess.Popen[str], issuer: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"the OpenID Connect provider exited: {output}")
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
            if response.status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("the OpenID Connect provider did not start in 30 s")


def sign_in(page: Page, login: str) -> None:
    """On the provider's pages: log in as ``login`` (any password), then give consent."""
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password: the test provider's login page")
    page.click("button[type=submit]")
    page.click("button[type=submit]")  # consent: "Continue"
