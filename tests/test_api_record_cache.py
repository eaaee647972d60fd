"""A person's record is served from the answer cache, keyed on the log's size and the day
(:meth:`api.context.AppContext.log_version`): an access grant that runs out at midnight
withholds the part again although nothing was appended.

The service's calendar is its configuration's (:attr:`api.config.ApiConfig.today`), so the
test turns the day over by giving the server a calendar it controls.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from ledger.access import today_utc
from tests.support.api_server import UNLIMITED, live_server, login, make_cast


@dataclasses.dataclass
class Calendar:
    """A settable ``ApiConfig.today``."""

    day: str

    def __call__(self) -> str:
        return self.day

    def turn(self) -> None:
        self.day = (dt.date.fromisoformat(self.day) + dt.timedelta(days=1)).isoformat()


def test_a_cached_record_withholds_a_part_once_its_grant_has_run_out(tmp_path: Path) -> None:
    calendar = Calendar(today_utc())
    config = dataclasses.replace(UNLIMITED, today=calendar)
    with live_server(f"sqlite://{(tmp_path / 'ledger.db').as_posix()}", config) as live:
        w = make_cast(live, "recordday")
        alice, bob = w["alice"], w["bob"]
        claim = w.claim(alice, title="Housing dashboard", skills=["python"])
        claim_at = int(w.ledger.append(claim)["log_index"])
        request = w.request_access(bob, alice, "dossier")
        w.ledger.append(request)
        w.ledger.append(
            w.grant_access(alice, bob, "dossier", request=request.statement.id, until=calendar())
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
        calendar.turn()
        withheld = claim_item()
        assert withheld["entry"] is None
        assert withheld["disclosures"] == []
