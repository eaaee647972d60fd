"""The README's main command, `bash scripts/demo`, run for real: it sets up, builds the demo
ledger, audits it, exports and verifies a record, then serves the API and the pages.

CI runs `scripts/test`; this test puts `scripts/demo` in CI's path too. It runs the
script as a user would (in a scratch DEMO_DIR, on a free port), waits until the service
answers, reads a few pages and API paths, then stops it with Ctrl-C (SIGINT).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status), response.read().decode()


def test_scripts_demo_builds_audits_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKRECORD_")} | {
        "DEMO_DIR": str(tmp_path / "demo"),
        "PORT": str(port),
        "TRACKRECORD_KDF": "fast",
    }
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "scripts/demo", "--people", "30"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                status, _ = _get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        assert status == 200
        output = log.read_text()
        assert "audit passed" in output, output
        tour = (tmp_path / "demo" / "tour.env").read_text()
        employee = tour.split("EMPLOYEE=", 1)[1].split()[0].strip("'\"")
        status, body = _get(f"http://127.0.0.1:{port}/people/{employee}/portfolio")
        assert status == 200
        assert f'"person":"{employee}"' in body
        status, body = _get(f"http://127.0.0.1:{port}/checkpoints/latest")
        assert status == 200
        assert (tmp_path / "demo" / "trackrecord.db.service-key").stat().st_mode & 0o777 == 0o600
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
