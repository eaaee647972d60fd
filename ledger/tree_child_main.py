"""The tree child's entry point (``python -m ledger.tree_child_main``, started by
:func:`ledger.tree_child.store_heads_tree_in_child`): store the heads tree of the log as
it is now, unpublished.

It reads ``{"url"}`` on stdin, opens the ledger at ``url`` (its service key from the file
``TRACKRECORD_SERVICE_KEY`` names), runs
:meth:`~ledger.transparency.TransparencyLog.store_heads_tree` exactly as the service would
in process, and prints ``{"size", "width", "root"}`` (the root in base64) on stdout; its
log goes to stderr. It holds no private key and signs nothing. An error is a traceback on
stderr and a non-zero exit status.
"""

from __future__ import annotations

import base64
import json
import logging
import sys

from ledger.child_process import read_spec
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.transparency import TransparencyLog

__all__ = ["main"]


def main() -> int:
    """The child: read ``{"url"}`` on stdin, store the heads tree, print what it stored."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    spec = read_spec()  # and die with the service
    store = open_store(spec["url"], create=False)
    try:
        tree = TransparencyLog(LedgerService(store)).store_heads_tree()
    finally:
        store.close()
    report = {"size": tree.size, "width": tree.width, "root": base64.b64encode(tree.root).decode()}
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
