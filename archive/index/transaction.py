"""Transactions and the plain INSERT every table of the index shares.

Several commands may write one archive at once (a cron harvest during a long import): each
write is a short transaction, begun with BEGIN IMMEDIATE, which waits for the others' (the
busy timeout open_index sets, BUSY_SECONDS unless told otherwise). One that still cannot
begin is IndexBusy, for the command to say "try later".
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Mapping
from typing import Any

import sqlite_utils

from archive.errors import IndexBusy

BUSY_SECONDS = 60.0  # how long a write waits for another command's transaction to end
RETRY_PAUSE = 0.05


def index_path(db: sqlite_utils.Database) -> str:
    """The file of the index `db` (for messages)."""
    return db.execute("PRAGMA database_list").fetchone()[2] or "archive.db"


def begin_write(db: sqlite_utils.Database) -> None:
    """BEGIN IMMEDIATE, waiting for another writer up to the busy timeout; IndexBusy after.

    SQLite waits in its busy handler, but some answers come at once (a WAL being recovered,
    a snapshot gone stale); beginning again is safe, as nothing was done yet.
    """
    waited = db.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
    deadline = time.monotonic() + waited
    while True:
        try:
            db.conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", 0) & 0xFF not in (
                sqlite3.SQLITE_BUSY,
                sqlite3.SQLITE_LOCKED,
            ):
                raise
            if time.monotonic() >= deadline:
                raise IndexBusy(index_path(db), waited) from None
        time.sleep(RETRY_PAUSE)


@contextlib.contextmanager
def waiting_up_to(db: sqlite_utils.Database, seconds: float) -> Iterator[None]:
    """A longer busy timeout for the block (recording how a run ended is worth a wait)."""
    before = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute(f"PRAGMA busy_timeout = {max(before, int(seconds * 1000)):d}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA busy_timeout = {before:d}")


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction (BEGIN IMMEDIATE), or a savepoint inside the caller's."""
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    begin_write(db)
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def insert_row(db: sqlite_utils.Database, table: str, row: Mapping[str, Any]) -> int:
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
    return cursor.lastrowid
