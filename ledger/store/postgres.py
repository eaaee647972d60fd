"""The PostgreSQL backend: the library's recorder plus the Merkle node table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from psycopg.sql import SQL, Identifier

from ..errors import ConcurrencyConflict, StoreError
from ..vault import SERVICE_KEY_META
from .base import SCHEMA_LOCK
from .recorder import IMPORTS_STAMP_KEYS, HeadsLeafRow, LedgerRecorder
from .rule_state import POSITION_KEY, VERSION_KEY, StateRow

__all__ = ["SELECT_STATE", "LedgerPostgresRecorder"]

# The rule-state read of a batch's read-ahead (:meth:`LedgerPostgresRecorder.select_state`),
# here so that ``bench.preread_plan`` explains the very statement. On a 10^6-entry ledger
# (2.7 million rule-state rows) PostgreSQL plans it as index look-ups on the primary key,
# for 8 pairs and for 8,000, with or without statistics; on a 10^4 ledger (27,000 rows)
# it hashes the pairs and reads the table once, which it measured twice as fast there
# (bench/README.md, issue 13).
SELECT_STATE = (
    "SELECT tbl, key, value FROM {schema}.{table} WHERE (tbl, key) IN "
    "(SELECT * FROM unnest(%b::text[], %b::text[]))"
)


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """Writes the Merkle nodes of an append in the same transaction as its entries,
    after the library's EXCLUSIVE lock on the events table (see :meth:`insert_events`)."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        base = events_table_name.removesuffix("_events")
        self.nodes_table = Identifier(f"{base}_merkle_nodes")
        self.schema = Identifier(self.datastore.schema)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, "
                "PRIMARY KEY (level, idx))"
            ).format(schema=self.schema, table=self.nodes_table)
        )
        self.checkpoints_table = Identifier(f"{base}_checkpoints")
        self.meta_table = Identifier(f"{base}_meta")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "size bigint PRIMARY KEY, note text NOT NULL)"
            ).format(schema=self.schema, table=self.checkpoints_table)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "key text PRIMARY KEY, value text NOT NULL)"
            ).format(schema=self.schema, table=self.meta_table)
        )
        self.trusted_table = Identifier(f"{base}_trusted_origins")
        self.imports_table = Identifier(f"{base}_imported_bundles")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "origin text NOT NULL, verifier_key text NOT NULL, "
                "PRIMARY KEY (origin, verifier_key))"
            ).format(schema=self.schema, table=self.trusted_table)
        )
        self.trust_weights_table = Identifier(f"{base}_trust_weights")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "origin text PRIMARY KEY, weight text NOT NULL, mac text NOT NULL)"
            ).format(schema=self.schema, table=self.trust_weights_table)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "origin text NOT NULL, person text NOT NULL, size bigint NOT NULL, "
                "verifier_key text NOT NULL, entry_count integer NOT NULL, "
                "imported_at text NOT NULL, report text NOT NULL, bundle text NOT NULL, "
                "PRIMARY KEY (origin, person, size))"
            ).format(schema=self.schema, table=self.imports_table)
        )
        # a person's imports, in the order they are listed (every portfolio answer asks)
        self.sql_create_statements.append(
            SQL(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (person, origin, size)"
            ).format(
                index=Identifier(f"{base}_imported_bundles_person"),
                schema=self.schema,
                table=self.imports_table,
            )
        )
        self.data_keys_table = Identifier(f"{base}_data_keys")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "person text PRIMARY KEY, wrapped bytea NOT NULL, created_at text NOT NULL)"
            ).format(schema=self.schema, table=self.data_keys_table)
        )
        self.state_table = Identifier(f"{base}_rule_state")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                'tbl text NOT NULL, key text COLLATE "C" NOT NULL, value text NOT NULL, '
                "at bigint NOT NULL, PRIMARY KEY (tbl, key))"
            ).format(schema=self.schema, table=self.state_table)
        )
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (tbl, at, key)").format(
                index=Identifier(f"{base}_rule_state_order"),
                schema=self.schema,
                table=self.state_table,
            )
        )
        self.positions_table = Identifier(f"{base}_entry_positions")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "log_index bigint PRIMARY KEY, position bigint NOT NULL UNIQUE)"
            ).format(schema=self.schema, table=self.positions_table)
        )
        # the heads tree of the latest checkpoint (ledger.store.checkpoint_tables); the
        # "C" collation compares the UTF-8 bytes, the heads tree's order
        self.heads_leaves_table = Identifier(f"{base}_heads_leaves")
        self.heads_nodes_table = Identifier(f"{base}_heads_nodes")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                'size bigint NOT NULL, idx bigint NOT NULL, stream text COLLATE "C" NOT NULL, '
                "seq bigint NOT NULL, hash text NOT NULL, involved text, "
                "PRIMARY KEY (size, idx), UNIQUE (size, stream))"
            ).format(schema=self.schema, table=self.heads_leaves_table)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "size bigint NOT NULL, level integer NOT NULL, idx bigint NOT NULL, "
                "hash bytea NOT NULL, PRIMARY KEY (size, level, idx))"
            ).format(schema=self.schema, table=self.heads_nodes_table)
        )
        self._insert_positions = SQL(
            "INSERT INTO {schema}.{table} (log_index, position) "
            "SELECT * FROM unnest(%b::bigint[], %b::bigint[])"
        ).format(schema=self.schema, table=self.positions_table)
        self._upsert_state = SQL(
            "INSERT INTO {schema}.{table} (tbl, key, value, at) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[]) "
            "ON CONFLICT (tbl, key) DO UPDATE SET value = EXCLUDED.value"
        ).format(schema=self.schema, table=self.state_table)
        self._delete_state = SQL(
            "DELETE FROM {schema}.{table} WHERE (tbl, key) IN "
            "(SELECT * FROM unnest(%b::text[], %b::text[]))"
        ).format(schema=self.schema, table=self.state_table)
        # The lock and the notification in one round trip (several statements, no
        # parameters: psycopg sends them with the simple query protocol), then the nodes
        # and the entries in one statement: unnest of one array per column, sent in
        # binary. The library's statement unnests an array of a composite type, which
        # psycopg dumps as text (bytea escaped by regular expressions): that was about
        # half the cost of an append of 1000 (bench/ingest.py). The entries are inserted,
        # and so given their notification ids, in array order, as with the library's
        # statement, and RETURNING lists them in that order.
        self._lock_and_notify = SQL("; ").join(
            [*self.lock_table_statements, SQL("NOTIFY {0}").format(Identifier(self.channel_name))]
        )
        # The entries' positions (their log indexes joined to the ids the insert gave them,
        # both in array order) and the rule-state rows (deleted, upserted, and the row of
        # the state's position: the last id) are written by the same statement: one round
        # trip, where they were three more (issue 13). A refused or conflicting append
        # writes none of it. ``positions`` unnests an empty array when no log indexes are
        # given; the state's position row is written only when rule-state rows are.
        self._insert_append = SQL(
            "WITH nodes AS (INSERT INTO {schema}.{nodes} (level, idx, hash) "
            "SELECT * FROM unnest(%b::integer[], %b::bigint[], %b::bytea[])), "
            "ev AS (INSERT INTO {schema}.{events} "
            "(originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id), "
            "numbered AS (SELECT notification_id, row_number() OVER "
            "(ORDER BY notification_id) AS n FROM ev), "
            "positions AS (INSERT INTO {schema}.{positions} (log_index, position) "
            "SELECT i.log_index, numbered.notification_id FROM numbered JOIN "
            "unnest(%b::bigint[]) WITH ORDINALITY AS i(log_index, n) USING (n)), "
            "gone AS (DELETE FROM {schema}.{state} WHERE (tbl, key) IN "
            "(SELECT * FROM unnest(%b::text[], %b::text[]))), "
            "put AS (INSERT INTO {schema}.{state} (tbl, key, value, at) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[]) "
            "UNION ALL SELECT %b::text, %b::text, "
            "coalesce(max(notification_id), 0)::text, %b::bigint FROM ev "
            "HAVING %b::boolean "
            "ON CONFLICT (tbl, key) DO UPDATE SET value = EXCLUDED.value) "
            "SELECT notification_id FROM numbered ORDER BY n"
        ).format(
            schema=self.schema,
            nodes=self.nodes_table,
            events=Identifier(self.events_table_name),
            id_type=Identifier(self.datastore.originator_id_type),
            positions=self.positions_table,
            state=self.state_table,
        )

    def holds_ledger(self) -> bool:
        """True if the ledger's events table exists in this database's schema."""
        name = f"{self.datastore.schema}.{self.events_table_name}"
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (name,))
            row = curs.fetchone()
        return bool(row and row["found"])

    def create_table(self) -> None:
        """Create the tables if missing, holding :data:`SCHEMA_LOCK` so that processes
        started together on a fresh database do not race each other's ``CREATE``."""
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert an append's entries and Merkle nodes in one transaction, without a pipeline.

        The library's own method pipelines its statements; when our node insert then
        hits the unique key of a leaf another writer took first, psycopg reports the
        pipeline as aborted (and can leave a stale prepared statement behind) rather
        than the unique violation. Here the table lock comes first (as in the
        library), then one statement inserts the nodes and the events: a second writer
        waits for the lock and then fails cleanly on the unique key of a leaf or of a
        stream position (``IntegrityError``), and the whole statement writes nothing.
        """
        nodes: Sequence[tuple[int, int, bytes]] = kwargs.get("merkle_nodes") or ()
        indexes: Sequence[int] = kwargs.get("log_indexes") or ()
        if indexes and len(indexes) != len(stored_events):
            raise ValueError("one log index per entry")
        rows: Sequence[StateRow] | None = kwargs.get("rule_state")
        put = [r for r in rows or () if r[2] is not None]
        gone = [r for r in rows or () if r[2] is None]
        params = (
            [level for level, _, _ in nodes],
            [idx for _, idx, _ in nodes],
            [hash_ for _, _, hash_ in nodes],
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
            list(indexes),
            [r[0] for r in gone],
            [r[1] for r in gone],
            *([r[i] for r in put] for i in range(4)),
            *POSITION_KEY,
            max((r[3] for r in rows or ()), default=0),
            rows is not None,
        )
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(self._lock_and_notify)
            curs.execute(self._insert_append, params)
            return [row["notification_id"] for row in curs.fetchall()]

    # -- rule state (ledger.store.rule_state) ----------------------------------------------
    def _write_state(self, curs: Any, rows: Sequence[StateRow]) -> None:
        put = [r for r in rows if r[2] is not None]
        gone = [r for r in rows if r[2] is None]
        if gone:
            curs.execute(self._delete_state, ([r[0] for r in gone], [r[1] for r in gone]))
        if put:
            curs.execute(
                self._upsert_state, tuple(list(column) for column in zip(*put, strict=True))
            )

    def write_state(self, rows: Sequence[StateRow], expect_size: int) -> None:
        """Write rule-state ``rows`` if the stored state still follows ``expect_size``
        entries (else raise :class:`ConcurrencyConflict`), in one transaction holding the
        appends' table lock."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(SQL("; ").join(self.lock_table_statements))
            curs.execute(
                SQL("SELECT value FROM {schema}.{table} WHERE tbl='meta' AND key='size'").format(
                    schema=self.schema, table=self.state_table
                )
            )
            found = curs.fetchone()
            if (0 if found is None else int(found["value"])) != expect_size:
                raise ConcurrencyConflict("another process changed the rule state first")
            self._write_state(curs, rows)

    def reset_state(self, version: int) -> int | None:
        """Drop the rule state kept by an older version than ``version`` and record
        ``version`` as the one the state is now built by, in one transaction holding
        :data:`SCHEMA_LOCK` and the appends' table lock (two processes opening the ledger
        together check and drop one after the other); return how many rows were dropped,
        or None if the state already is at ``version``."""
        table = {"schema": self.schema, "table": self.state_table}
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            curs.execute(SQL("; ").join(self.lock_table_statements))
            curs.execute(
                SQL("SELECT value FROM {schema}.{table} WHERE tbl=%s AND key=%s").format(**table),
                VERSION_KEY,
            )
            found = curs.fetchone()
            if found is not None and int(found["value"]) >= version:
                return None
            curs.execute(
                SQL("DELETE FROM {schema}.{table} WHERE tbl <> %s").format(**table),
                (VERSION_KEY[0],),
            )
            dropped = int(curs.rowcount)
            curs.execute(SQL("DELETE FROM {schema}.{table}").format(**table))
            self._write_state(curs, [(*VERSION_KEY, str(version), 0)])
            return dropped

    def select_state(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The values of the ``(table, key)`` pairs (absent ones left out), in one statement.
        The arrays go in binary (``%b``): as text psycopg quotes and escapes every element
        (a tuple key is a JSON array, full of quotes); two arrays of 8,000 such keys took
        about 190 ms to send that way and 20 ms in binary, and a batch's read-ahead of 1000
        statements sends about 8,000 pairs (issue 13, at load 10)."""
        if not keys:
            return {}
        rows = self._query(
            SQL(SELECT_STATE),
            ([k[0] for k in keys], [k[1] for k in keys]),
            self.state_table,
        )
        return {(str(r["tbl"]), str(r["key"])): str(r["value"]) for r in rows}

    def select_state_range(
        self, table: str, after: tuple[int, str], limit: int
    ) -> list[tuple[int, str, str]]:
        """Up to ``limit`` rows ``(at, key, value)`` of ``table`` after ``after`` in
        ``(at, key)`` order."""
        rows = self._query(
            SQL(
                "SELECT at, key, value FROM {schema}.{table} WHERE tbl=%s AND (at, key) > (%s, %s) "
                "ORDER BY at, key LIMIT %s"
            ),
            (table, *after, limit),
            self.state_table,
        )
        return [(int(r["at"]), str(r["key"]), str(r["value"])) for r in rows]

    def select_state_tables(self, tables: Sequence[str]) -> list[tuple[str, str, str]]:
        """Every row ``(table, key, value)`` of the rule-state ``tables``, in one statement:
        what one moment of the store holds."""
        rows = self._query(
            SQL("SELECT tbl, key, value FROM {schema}.{table} WHERE tbl = ANY(%s::text[])"),
            (list(tables),),
            self.state_table,
        )
        return [(str(r["tbl"]), str(r["key"]), str(r["value"])) for r in rows]

    def select_progress(
        self, keys: Sequence[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], str], int, int, int]:
        """The rule-state values of ``keys`` (absent ones left out), the number of leaves
        of the Merkle tree (the log's size), of indexed positions, and the highest
        notification position: one statement, four index look-ups, one round trip."""
        sql = SQL(
            "SELECT s.tbl, s.key, s.value, p.leaves, p.indexed, p.position FROM (SELECT "
            "coalesce((SELECT max(idx) FROM {schema}.{nodes} WHERE level = 0) + 1, 0) AS leaves, "
            "coalesce((SELECT max(log_index) FROM {schema}.{positions}) + 1, 0) AS indexed, "
            "coalesce((SELECT max(notification_id) FROM {schema}.{events}), 0) AS position"
            ") AS p LEFT JOIN {schema}.{state} AS s ON (s.tbl, s.key) IN "
            "(SELECT * FROM unnest(%b::text[], %b::text[]))"
        ).format(
            schema=self.schema,
            nodes=self.nodes_table,
            positions=self.positions_table,
            events=Identifier(self.events_table_name),
            state=self.state_table,
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, ([k[0] for k in keys], [k[1] for k in keys]))
            rows = curs.fetchall()
        values = {(str(r["tbl"]), str(r["key"])): str(r["value"]) for r in rows if r["tbl"]}
        first = rows[0]
        return values, int(first["leaves"]), int(first["indexed"]), int(first["position"])

    def count_state(self, table: str) -> int:
        rows = self._query(
            SQL("SELECT count(*) AS n FROM {schema}.{table} WHERE tbl=%s"),
            (table,),
            self.state_table,
        )
        return int(rows[0]["n"])

    def _query(
        self, sql: SQL, params: tuple[Any, ...], table: Identifier | None = None
    ) -> list[Any]:
        """Run one statement on its own: the pool's connections are in autocommit mode, so
        it is its own transaction, in one round trip. Inside ``conn.transaction()`` it took
        three (``BEGIN``, the statement, ``COMMIT``) and gained nothing: a look-up of the
        rule state missed by a batch's prefetch cost three round trips (issue 13)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql.format(schema=self.schema, table=table or self.nodes_table), params)
            return list(curs.fetchall()) if curs.description else []

    # -- entry positions (ledger.store.position_tables) ------------------------------------
    def select_position(self, log_index: int) -> int | None:
        rows = self._query(
            SQL("SELECT position FROM {schema}.{table} WHERE log_index=%s"),
            (log_index,),
            self.positions_table,
        )
        return int(rows[0]["position"]) if rows else None

    def select_log_index(self, position: int) -> int | None:
        rows = self._query(
            SQL("SELECT log_index FROM {schema}.{table} WHERE position=%s"),
            (position,),
            self.positions_table,
        )
        return int(rows[0]["log_index"]) if rows else None

    def select_stream_log_indexes(self, originator_id: UUID) -> list[tuple[int, int]]:
        """``(seq, log index)`` of every indexed entry of a stream, in seq order."""
        sql = SQL(
            "SELECT e.originator_version AS seq, p.log_index FROM {schema}.{events} e "
            "JOIN {schema}.{table} p ON p.position = e.notification_id "
            "WHERE e.originator_id=%s ORDER BY e.originator_version"
        ).format(
            schema=self.schema,
            events=Identifier(self.events_table_name),
            table=self.positions_table,
        )
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(sql, (originator_id,))
            return [(int(r["seq"]), int(r["log_index"])) for r in curs.fetchall()]

    def select_positions(self, start: int, stop: int) -> list[tuple[int, int]]:
        """``(log index, position)`` of the indexed entries from ``start`` to ``stop``."""
        rows = self._query(
            SQL(
                "SELECT log_index, position FROM {schema}.{table} "
                "WHERE log_index >= %s AND log_index < %s ORDER BY log_index"
            ),
            (start, stop),
            self.positions_table,
        )
        return [(int(r["log_index"]), int(r["position"])) for r in rows]

    def select_last_indexed(self) -> tuple[int, int] | None:
        """The highest indexed ``(log index, position)``, None if none."""
        rows = self._query(
            SQL("SELECT log_index, position FROM {schema}.{table} ORDER BY log_index DESC LIMIT 1"),
            (),
            self.positions_table,
        )
        return (int(rows[0]["log_index"]), int(rows[0]["position"])) if rows else None

    def index_positions(self, limit: int) -> int:
        """Index the next ``limit`` entries the positions table does not hold yet (a
        ledger written before it existed), in one transaction holding the appends'
        table lock; return how many."""
        table = SQL("{schema}.{table}").format(schema=self.schema, table=self.positions_table)
        events = SQL("{schema}.{table}").format(
            schema=self.schema, table=Identifier(self.events_table_name)
        )
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(SQL("; ").join(self.lock_table_statements))
            curs.execute(
                SQL("SELECT log_index, position FROM {t} ORDER BY log_index DESC LIMIT 1").format(
                    t=table
                )
            )
            row = curs.fetchone()
            first, after = (
                (0, 0) if row is None else (int(row["log_index"]) + 1, int(row["position"]))
            )
            curs.execute(
                SQL(
                    "SELECT notification_id FROM {e} WHERE notification_id>%s "
                    "ORDER BY notification_id LIMIT %s"
                ).format(e=events),
                (after, limit),
            )
            ids = [int(r["notification_id"]) for r in curs.fetchall()]
            if ids:
                curs.execute(self._insert_positions, (list(range(first, first + len(ids))), ids))
            return len(ids)

    def select_node(self, level: int, idx: int) -> bytes | None:
        rows = self._query(
            SQL("SELECT hash FROM {schema}.{table} WHERE level=%s AND idx=%s"), (level, idx)
        )
        return bytes(rows[0]["hash"]) if rows else None

    def select_nodes(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        rows = self._query(
            SQL(
                "SELECT idx, hash FROM {schema}.{table} "
                "WHERE level=%s AND idx>=%s AND idx<%s ORDER BY idx"
            ),
            (level, start, stop),
        )
        return [(int(r["idx"]), bytes(r["hash"])) for r in rows]

    def select_nodes_at(self, keys: Sequence[tuple[int, int]]) -> list[tuple[int, int, bytes]]:
        """The stored nodes ``(level, idx, hash)`` of the ``(level, idx)`` pairs asked for
        (absent ones left out), in one query."""
        if not keys:
            return []
        rows = self._query(
            SQL(
                "SELECT level, idx, hash FROM {schema}.{table} WHERE (level, idx) IN "
                "(SELECT * FROM unnest(%s::integer[], %s::bigint[]))"
            ),
            ([k[0] for k in keys], [k[1] for k in keys]),
        )
        return [(int(r["level"]), int(r["idx"]), bytes(r["hash"])) for r in rows]

    def count_nodes(self, level: int) -> int:
        rows = self._query(
            SQL("SELECT COUNT(*) AS n FROM {schema}.{table} WHERE level=%s"), (level,)
        )
        return int(rows[0]["n"])

    def insert_latest_checkpoint(self, size: int, note: str) -> tuple[int, str]:
        """Store ``note`` for ``size`` unless a checkpoint of that size or a larger one is
        stored; return the largest stored one as ``(size, note)``. Under a lock on the
        table that publishers take in turn (readers pass): two processes never both
        publish, nor a smaller checkpoint after a larger one."""
        t = SQL("{schema}.{table}").format(schema=self.schema, table=self.checkpoints_table)
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(SQL("LOCK TABLE {t} IN SHARE ROW EXCLUSIVE MODE").format(t=t))
            curs.execute(
                SQL(
                    "INSERT INTO {t} SELECT %s, %s WHERE NOT EXISTS "
                    "(SELECT 1 FROM {t} WHERE size >= %s)"
                ).format(t=t),
                (size, note, size),
            )
            curs.execute(SQL("SELECT size, note FROM {t} ORDER BY size DESC LIMIT 1").format(t=t))
            row = curs.fetchone()
            assert row is not None  # this one, or the larger one that kept it out
            return int(row["size"]), str(row["note"])

    def select_checkpoint(self, size: int | None) -> tuple[int, str] | None:
        """The checkpoint of ``size`` (the largest one if None), as ``(size, note)``."""
        t = self.checkpoints_table
        if size is None:
            rows = self._query(
                SQL("SELECT size, note FROM {schema}.{table} ORDER BY size DESC LIMIT 1"), (), t
            )
        else:
            rows = self._query(
                SQL("SELECT size, note FROM {schema}.{table} WHERE size=%s"), (size,), t
            )
        return (int(rows[0]["size"]), str(rows[0]["note"])) if rows else None

    def select_checkpoint_sizes(self) -> list[int]:
        rows = self._query(
            SQL("SELECT size FROM {schema}.{table} ORDER BY size"), (), self.checkpoints_table
        )
        return [int(r["size"]) for r in rows]

    def insert_heads_rows(
        self, size: int, leaves: Sequence[HeadsLeafRow], nodes: Sequence[tuple[int, int, bytes]]
    ) -> None:
        """Store rows of checkpoint ``size``'s heads tree in one transaction; a row already
        stored (the same tree written by another process) is kept. The commit does not
        wait for the WAL flush (``synchronous_commit`` off): the rows are unpublished until
        the checkpoint that names them is stored, whose commit flushes them first, so a
        crash loses only rows no checkpoint names."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute("SET LOCAL synchronous_commit = off")
            curs.execute(
                SQL(
                    "INSERT INTO {schema}.{table} SELECT %s, * FROM unnest(%s::bigint[], "
                    "%s::text[], %s::bigint[], %s::text[], %s::text[]) ON CONFLICT DO NOTHING"
                ).format(schema=self.schema, table=self.heads_leaves_table),
                (size, *([leaf[i] for leaf in leaves] for i in range(5))),
            )
            curs.execute(
                SQL(
                    "INSERT INTO {schema}.{table} SELECT %s, * FROM unnest(%s::integer[], "
                    "%s::bigint[], %s::bytea[]) ON CONFLICT DO NOTHING"
                ).format(schema=self.schema, table=self.heads_nodes_table),
                (size, *([node[i] for node in nodes] for i in range(3))),
            )

    def delete_heads_rows(self, below: int, limit: int) -> int:
        """Delete up to ``limit`` leaves and ``limit`` nodes of heads trees of sizes below
        ``below``, in one transaction; return how many rows."""
        deleted = 0
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            for table, key in (
                (self.heads_leaves_table, SQL("size, idx")),
                (self.heads_nodes_table, SQL("size, level, idx")),
            ):
                curs.execute(
                    SQL(
                        "DELETE FROM {schema}.{table} WHERE ({key}) IN "
                        "(SELECT {key} FROM {schema}.{table} WHERE size < %s LIMIT %s)"
                    ).format(schema=self.schema, table=table, key=key),
                    (below, limit),
                )
                deleted += curs.rowcount
        return deleted

    def select_heads_leaves(
        self, size: int, streams: Sequence[str], indexes: Sequence[int]
    ) -> list[HeadsLeafRow]:
        rows = self._query(
            SQL(
                "SELECT idx, stream, seq, hash, involved FROM {schema}.{table} WHERE size=%s "
                "AND (stream = ANY(%s::text[]) OR idx = ANY(%s::bigint[]))"
            ),
            (size, list(streams), list(indexes)),
            self.heads_leaves_table,
        )
        return [_heads_leaf(r) for r in rows]

    def select_heads_after(self, size: int, stream: str) -> HeadsLeafRow | None:
        rows = self._query(
            SQL(
                "SELECT idx, stream, seq, hash, involved FROM {schema}.{table} "
                "WHERE size=%s AND stream>%s ORDER BY stream LIMIT 1"
            ),
            (size, stream),
            self.heads_leaves_table,
        )
        return _heads_leaf(rows[0]) if rows else None

    def select_heads_width(self, size: int) -> int:
        rows = self._query(
            SQL("SELECT MAX(idx) AS top FROM {schema}.{table} WHERE size=%s"),
            (size,),
            self.heads_leaves_table,
        )
        return 0 if rows[0]["top"] is None else int(rows[0]["top"]) + 1

    def select_heads_nodes(
        self, size: int, keys: Sequence[tuple[int, int]]
    ) -> list[tuple[int, int, bytes]]:
        if not keys:
            return []
        rows = self._query(
            SQL(
                "SELECT level, idx, hash FROM {schema}.{table} WHERE size=%s AND (level, idx) IN "
                "(SELECT * FROM unnest(%s::integer[], %s::bigint[]))"
            ),
            (size, [k[0] for k in keys], [k[1] for k in keys]),
            self.heads_nodes_table,
        )
        return [(int(r["level"]), int(r["idx"]), bytes(r["hash"])) for r in rows]

    def set_meta(self, key: str, value: str) -> str:
        """Set ``key`` once; return the value stored (the first one wins)."""
        t = self.meta_table
        self._query(
            SQL("INSERT INTO {schema}.{table} VALUES (%s, %s) ON CONFLICT (key) DO NOTHING"),
            (key, value),
            t,
        )
        rows = self._query(SQL("SELECT value FROM {schema}.{table} WHERE key=%s"), (key,), t)
        return str(rows[0]["value"])

    def get_meta(self, key: str) -> str | None:
        rows = self._query(
            SQL("SELECT value FROM {schema}.{table} WHERE key=%s"), (key,), self.meta_table
        )
        return str(rows[0]["value"]) if rows else None

    # -- trusted origins and imported bundles (ledger.imports) ---------------------------
    def insert_trusted_key(self, origin: str, verifier_key: str) -> None:
        self._query(
            SQL("INSERT INTO {schema}.{table} VALUES (%s, %s) ON CONFLICT DO NOTHING"),
            (origin, verifier_key),
            self.trusted_table,
        )

    def delete_trusted_keys(self, origin_or_key: str) -> int:
        """Delete the trusted keys of an origin, or one key; return how many."""
        rows = self._query(
            SQL("DELETE FROM {schema}.{table} WHERE origin=%s OR verifier_key=%s RETURNING origin"),
            (origin_or_key, origin_or_key),
            self.trusted_table,
        )
        return len(rows)

    def select_trusted_keys(self) -> list[tuple[str, str]]:
        rows = self._query(
            SQL("SELECT origin, verifier_key FROM {schema}.{table} ORDER BY 1, 2"),
            (),
            self.trusted_table,
        )
        return [(str(r["origin"]), str(r["verifier_key"])) for r in rows]

    def upsert_trust_weight(self, origin: str, weight: str, mac: str) -> None:
        """Set the declared trust weight of ``origin`` (with its row MAC)."""
        self._query(
            SQL(
                "INSERT INTO {schema}.{table} VALUES (%s, %s, %s) ON CONFLICT (origin) "
                "DO UPDATE SET weight = EXCLUDED.weight, mac = EXCLUDED.mac RETURNING origin"
            ),
            (origin, weight, mac),
            self.trust_weights_table,
        )

    def select_trust_weights(self) -> list[tuple[str, str, str]]:
        rows = self._query(
            SQL("SELECT origin, weight, mac FROM {schema}.{table} ORDER BY 1"),
            (),
            self.trust_weights_table,
        )
        return [(str(r["origin"]), str(r["weight"]), str(r["mac"])) for r in rows]

    def insert_import(self, row: tuple[str, str, int, str, int, str, str, str]) -> bool:
        """Store an imported bundle unless one with its key exists, and count it in the
        stored stamp (:meth:`select_imports_stamp`) in the same transaction; return True
        if stored. Two processes importing at once: the second one's update of the stamp
        rows waits for the first one's commit (row locks), so neither count is lost."""
        meta = SQL("{schema}.{table}").format(schema=self.schema, table=self.meta_table)
        count, latest = IMPORTS_STAMP_KEYS
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {schema}.{table} VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING RETURNING origin"
                ).format(schema=self.schema, table=self.imports_table),
                row,
            )
            if not curs.fetchall():
                return False
            curs.execute(
                SQL("UPDATE {meta} SET value=(value::bigint + 1)::text WHERE key=%s").format(
                    meta=meta
                ),
                (count,),
            )
            curs.execute(
                SQL("UPDATE {meta} SET value=greatest(value, %s) WHERE key=%s").format(meta=meta),
                (row[5], latest),
            )
            if curs.rowcount != 1:  # a ledger written before the stamp was stored
                self._store_imports_stamp(curs, imported=True)
            return True

    def store_imports_stamp(self) -> bool:
        """Store the imports stamp if it is not (a ledger written before it was); return
        True if it was stored now."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            return self._store_imports_stamp(curs)

    def _store_imports_stamp(self, curs: Any, *, imported: bool = False) -> bool:
        """In ``curs``'s transaction: the stamp counted from the table, unless stored.
        ``imported``: this transaction has just imported a bundle, counted by the table if
        no one stored the stamp meanwhile; if another process did (its count cannot have
        seen this transaction's row), this one adds its bundle to it."""
        meta = SQL("{schema}.{table}").format(schema=self.schema, table=self.meta_table)
        count, latest = IMPORTS_STAMP_KEYS
        if not imported:
            curs.execute(SQL("SELECT 1 FROM {meta} WHERE key=%s").format(meta=meta), (latest,))
            if curs.fetchall():
                return False
        on_conflict = (
            SQL(
                "DO UPDATE SET value = CASE WHEN {meta}.key = %s "
                "THEN ({meta}.value::bigint + 1)::text "
                "ELSE greatest({meta}.value, EXCLUDED.value) END"
            ).format(meta=meta)
            if imported
            else SQL("DO NOTHING")
        )
        curs.execute(
            SQL(
                "INSERT INTO {meta} (key, value) "
                "SELECT %s, count(*)::text FROM {schema}.{table} UNION ALL "
                "SELECT %s, coalesce(max(imported_at), '') FROM {schema}.{table} "
                "ON CONFLICT (key) {on_conflict} RETURNING key"
            ).format(
                meta=meta, schema=self.schema, table=self.imports_table, on_conflict=on_conflict
            ),
            (count, latest, count) if imported else (count, latest),
        )
        return bool(curs.fetchall())

    def select_imports(self, person: str | None) -> list[tuple[str, str, int, str, int, str, str]]:
        """Imported bundles (without their text), of ``person`` or of everyone."""
        sql = (
            "SELECT origin, person, size, verifier_key, entry_count, imported_at, report "
            "FROM {schema}.{table} "
        )
        if person is None:
            rows = self._query(SQL(sql + "ORDER BY 2, 1, 3"), (), self.imports_table)
        else:
            rows = self._query(
                SQL(sql + "WHERE person=%s ORDER BY 2, 1, 3"), (person,), self.imports_table
            )
        return [
            (
                str(r["origin"]),
                str(r["person"]),
                int(r["size"]),
                str(r["verifier_key"]),
                int(r["entry_count"]),
                str(r["imported_at"]),
                str(r["report"]),
            )
            for r in rows
        ]

    def select_imports_stamp(self) -> tuple[int, str]:
        """The stored stamp: two look-ups by key; on a ledger written before it was stored,
        counted from the table."""
        rows = self._query(
            SQL("SELECT key, value FROM {schema}.{table} WHERE key = ANY(%s)"),
            (list(IMPORTS_STAMP_KEYS),),
            self.meta_table,
        )
        stored = {str(r["key"]): str(r["value"]) for r in rows}
        if len(stored) == 2:
            return int(stored[IMPORTS_STAMP_KEYS[0]]), stored[IMPORTS_STAMP_KEYS[1]]
        rows = self._query(
            SQL(
                "SELECT count(*) AS n, coalesce(max(imported_at), '') AS latest "
                "FROM {schema}.{table}"
            ),
            (),
            self.imports_table,
        )
        return int(rows[0]["n"]), str(rows[0]["latest"])

    def select_import_bundle(self, origin: str, person: str, size: int) -> str | None:
        rows = self._query(
            SQL("SELECT bundle FROM {schema}.{table} WHERE origin=%s AND person=%s AND size=%s"),
            (origin, person, size),
            self.imports_table,
        )
        return str(rows[0]["bundle"]) if rows else None

    # -- data keys (ledger.vault) -----------------------------------------------------------
    def insert_data_keys(
        self, keys: Sequence[tuple[str, bytes]], created_at: str, key_id: str
    ) -> None:
        # Only while the ledger's service key is still ``key_id``: a process started before
        # a rotation must not add a key wrapped under the old service key (the rotation
        # holds an EXCLUSIVE lock on the table, so this waits for it and then sees it).
        insert = SQL(
            "INSERT INTO {schema}.{table} SELECT %s, %s, %s WHERE EXISTS "
            "(SELECT 1 FROM {schema}.{meta} WHERE key=%s AND value=%s) ON CONFLICT DO NOTHING"
        ).format(schema=self.schema, table=self.data_keys_table, meta=self.meta_table)
        rows = [(person, wrapped, created_at, SERVICE_KEY_META, key_id) for person, wrapped in keys]
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.cursor().executemany(insert, rows)

    def select_data_keys(self, persons: Sequence[str]) -> dict[str, bytes]:
        rows = self._query(
            SQL("SELECT person, wrapped FROM {schema}.{table} WHERE person = ANY(%s)"),
            (list(persons),),
            self.data_keys_table,
        )
        return {str(r["person"]): bytes(r["wrapped"]) for r in rows}

    def delete_data_key(self, person: str) -> bool:
        """Delete ``person``'s row so that the table's files no longer hold its bytes (see
        :meth:`_scrubbing_write`); True if there was one."""
        delete = SQL("DELETE FROM {t} WHERE person=%s")
        (changed,) = self._scrubbing_write(self.data_keys_table, [(delete, (person,))])
        return bool(changed)

    def rewrap_data_keys(
        self, rewrap: Callable[[bytes], bytes], old_key_id: str, new_key_id: str
    ) -> int:
        """Wrap every data key anew (``rewrap``) and record ``new_key_id``, in one
        transaction holding an EXCLUSIVE lock on the table (no data key is added under
        the old service key meanwhile), then ``VACUUM FULL`` the table. Returns how many
        keys were rewrapped."""
        table = SQL("{schema}.{table}").format(schema=self.schema, table=self.data_keys_table)
        meta = SQL("{schema}.{table}").format(schema=self.schema, table=self.meta_table)
        with self.datastore.get_connection() as conn:  # autocommit: VACUUM needs it
            with conn.transaction():
                conn.execute(SQL("LOCK TABLE {t} IN EXCLUSIVE MODE").format(t=table))
                changed = conn.execute(
                    SQL("UPDATE {m} SET value=%s WHERE key=%s AND value=%s").format(m=meta),
                    (new_key_id, SERVICE_KEY_META, old_key_id),
                ).rowcount
                if not changed:
                    raise StoreError(
                        f"the ledger's service key is no longer {old_key_id}: "
                        f"rotated by another process"
                    )
                rows = conn.execute(SQL("SELECT person, wrapped FROM {t}").format(t=table))
                new = [(rewrap(bytes(r["wrapped"])), str(r["person"])) for r in rows.fetchall()]
                update = SQL("UPDATE {t} SET wrapped=%s WHERE person=%s").format(t=table)
                for row in new:
                    conn.execute(update, row)
            conn.execute(SQL("VACUUM FULL {t}").format(t=table))
        return len(new)

    def _scrubbing_write(
        self, table: Identifier, statements: Sequence[tuple[SQL, Sequence[Any]]]
    ) -> list[int]:
        """Run ``statements`` (over ``{t}``, the table) in one transaction, then rewrite the
        table with ``VACUUM FULL`` so that its files no longer hold the deleted or
        overwritten row versions; return each statement's number of changed rows.

        WAL segments, replicas and base backups keep the old rows until they are
        recycled: PostgreSQL offers no way to scrub those from here.
        """
        name = SQL("{schema}.{table}").format(schema=self.schema, table=table)
        with self.datastore.get_connection() as conn:  # autocommit: VACUUM needs it
            with conn.transaction():
                changes = [
                    conn.execute(sql.format(t=name), params).rowcount for sql, params in statements
                ]
            if any(changes):
                conn.execute(SQL("VACUUM FULL {t}").format(t=name))
        return changes


_IS_A_LEDGER_RECORDER: type[LedgerRecorder] = LedgerPostgresRecorder  # checked by mypy


def _heads_leaf(row: Any) -> HeadsLeafRow:
    involved = row["involved"]
    return (int(row["idx"]), str(row["stream"]), int(row["seq"]), str(row["hash"]), involved)
