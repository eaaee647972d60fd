"""A person's record is served from the answer cache, keyed on the log's size and the day
(:meth:`api.context.AppContext.log_version`): an access grant that runs out at midnight
withholds the part again although nothing was appended."""

from __future__ import annotations

import datetime as dt

import pytest

import api.context
import ledger.access
from ledger.access import today_utc
from tests.support.api_server import Live, login, make_cast


def test_a_cached_record_withholds_a_part_once_its_grant_has_run_out(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = make_cast(live, "recordday")
    alice, bob = w["alice"], w["bob"]
    claim = w.claim(alice, title="Housing dashboard", skills=["python"])
    claim_at = int(w.ledger.append(claim)["log_index"])
    request = w.request_access(bob, alice, "dossier")
    w.ledger.append(request)
    today = today_utc()
    w.ledger.append(
        w.grant_access(alice, bob, "dossier", request=request.statement.id, until=today)
    )
    token = login(live, bob.identity)

    def claim_item() -> dict[str, object]:
        page = live.client.get(
            f"/people/{alice.id}/record",
            headers={"Authorization": f"Bearer {token}"},
            params={"limit": 200},
        ).json()
        [item] = [i for i in page["items"] if i["log_index"] == claim_at]
        found: dict[str, object] = item
        return found

    assert claim_item()["disclosures"]  # granted until today: read (and cached)
    tomorrow = (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()
    monkeypatch.setattr(ledger.access, "today_utc", lambda: tomorrow)
    monkeypatch.setattr(api.context, "today_utc", lambda: tomorrow)
    withheld = claim_item()
    assert withheld["entry"] is None
    assert withheld["disclosures"] == []
