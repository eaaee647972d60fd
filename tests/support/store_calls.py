"""Counting a store's calls made while a live server answers (tests of how many store
reads or writes one request costs: test_api_read_queries, test_api_write_queries)."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ledger.store import Store


@contextmanager
def counted(store: Store) -> Iterator[collections.Counter[str]]:
    """Count the calls of ``store``'s public methods made on request threads."""
    calls: collections.Counter[str] = collections.Counter()
    originals: dict[str, Callable[..., Any]] = {}

    def counting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name.startswith("AnyIO worker"):
                calls[name] += 1
            return method(*args, **kwargs)

        return call

    for name in dir(type(store)):
        method = getattr(store, name)
        if not name.startswith("_") and callable(method):
            originals[name] = method
            setattr(store, name, counting(name, method))
    try:
        yield calls
    finally:
        for name in originals:
            delattr(store, name)
