"""The refresh child's entry point (``python -m projections.child_main``, started by
:func:`projections.child.refresh_in_child`): run one refresh cycle in this process.

It reads ``{"url", "names", "at"}`` on stdin, opens the ledger at ``url`` (its service key
from the file ``TRACKRECORD_SERVICE_KEY`` names) and the read models on the same database,
runs :meth:`projections.runner.Projector.refresh` in process, exactly as the parent would,
and prints ``{"took": {read model: seconds}}`` on stdout; its log goes to stderr. An error
is a traceback on stderr and a non-zero exit status; nothing is committed then.
"""

from __future__ import annotations

import json
import logging
import sys

from ledger.child_process import read_spec
from ledger.store import open_store

from .db import create_read_model_engine
from .entries import EntryReader
from .registry import read_models
from .runner import Projector
from .sealed import bind_read_model_key, read_model_key

__all__ = ["main"]


def main() -> int:
    """The child: read ``{"url", "names", "at"}`` on stdin (:func:`~ledger.child_process.
    read_spec`: it dies with its parent), run the refresh cycle in this process
    (:meth:`~projections.runner.Projector.refresh`), print ``{"took": {...}}``."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    spec = read_spec()
    store = open_store(spec["url"], create=False)
    try:
        engine = create_read_model_engine(spec["url"])
        try:
            bind_read_model_key(engine, read_model_key(store))
            projector = Projector(EntryReader(store), engine, read_models(engine))
            took = projector.refresh([str(n) for n in spec["names"]], at=int(spec["at"]))
        finally:
            engine.dispose()
    finally:
        store.close()
    sys.stdout.write(json.dumps({"took": took}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
