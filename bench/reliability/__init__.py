"""Reliability and security under faults, load and hostile input (issue 7), in one table.

Run ``python -m bench.reliability [--quick]`` from the repository root. The suites, each a
long version of a CI-sized test in ``tests/``:

=======================  ==============================================================
crash                    a service process killed with SIGKILL under concurrent signed
                         appends, again and again (:mod:`.service`; tests/test_crash.py)
concurrency              many clients, two service processes, one database
                         (:mod:`.service`; tests/test_concurrency.py)
audit                    random single tamperings of a stored ledger through real SQL
                         (SQLite and PostgreSQL), each audited from scratch
                         (:mod:`.tamper`; tests/test_tamper.py)
checkpoints              checkpoint rows edited, logs rolled back or forked; a monitor
                         must notice (:mod:`.tamper`; tests/test_monitor.py); and the
                         operator's own service must refuse to append to a store rolled
                         back behind its last signed checkpoint (tests/test_rollback.py)
bundles                  single changes to exported bundles, verified offline
                         (:mod:`.bundles`; tests/test_bundle.py)
fuzz                     hostile input to every parser (:mod:`.fuzz`;
                         tests/test_hostile_input.py)
=======================  ==============================================================

Every suite is bounded in count and time and runs on loopback only.
"""

from .cli import main

__all__ = ["main"]
