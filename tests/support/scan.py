"""Every value in a database, to look for text that must not be there any more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, MetaData, select

__all__ = ["every_value", "holds"]


def every_value(engine: Engine) -> Iterator[tuple[str, str, Any]]:
    """Every value of every column of every table of the database (reflected)."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    yield table.name, str(column), value


def holds(value: Any, text: str) -> bool:
    """Whether ``value`` (a column value: text or bytes) contains ``text``."""
    if isinstance(value, str):
        return text in value
    if isinstance(value, bytes | bytearray | memoryview):
        return text.encode() in bytes(value)
    return False
