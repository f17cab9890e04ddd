"""What the programs did: one row per HTTP outcome (`fetches`) and per command (`runs`), and
what the server answered with each stored raw capture (`capture_responses`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from archive.index.transaction import insert_row, write_transaction
from archive.times import iso_utc


def record_fetch(
    db: sqlite_utils.Database,
    url: str,
    *,
    outcome: str,
    at: datetime | str | None = None,
    status: int | None = None,
    error: str | None = None,
    elapsed_ms: int | None = None,
    run_id: int | None = None,
    article_key: str | None = None,
) -> int:
    """Log one HTTP outcome (status = HTTP status code); returns the fetches row id."""
    with write_transaction(db):
        return insert_row(
            db,
            "fetches",
            {
                "run_id": run_id,
                "url": url,
                "at": iso_utc(at),
                "status": status,
                "outcome": outcome,
                "error": error,
                "elapsed_ms": elapsed_ms,
                "article_key": article_key,
            },
        )


def start_run(
    db: sqlite_utils.Database,
    command: str,
    *,
    at: datetime | str | None = None,
    pid: int | None = None,
) -> int:
    """Open a runs row (outcome "running"); returns its id."""
    with write_transaction(db):
        return insert_row(
            db,
            "runs",
            {
                "started_at": iso_utc(at),
                "command": command,
                "outcome": "running",
                "pid": os.getpid() if pid is None else pid,
            },
        )


def finish_run(
    db: sqlite_utils.Database,
    run_id: int,
    outcome: str,
    counts: Mapping[str, Any] | None,
    message: str | None = None,
    *,
    at: datetime | str | None = None,
) -> None:
    """Close a run: outcome, counts (stored as JSON), message, finished_at."""
    counts_json = json.dumps(dict(counts or {}), ensure_ascii=False, sort_keys=True)
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE runs SET finished_at = ?, outcome = ?, counts = ?, message = ? WHERE id = ?",
            [iso_utc(at), outcome, counts_json, message, run_id],
        )
        if cursor.rowcount != 1:
            raise KeyError(run_id)


def running_runs(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The runs still marked "running" (id, command, pid, started_at), oldest first."""
    return list(
        db.query(
            "SELECT id, command, pid, started_at FROM runs WHERE outcome = 'running' ORDER BY id"
        )
    )


def mark_run_interrupted(db: sqlite_utils.Database, run_id: int, message: str) -> bool:
    """A run that will never finish (its process is gone) is "interrupted"; its end time
    stays unknown. False when it was no longer running."""
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE runs SET outcome = 'interrupted', message = ? "
            "WHERE id = ? AND outcome = 'running'",
            [message, run_id],
        )
    return cursor.rowcount == 1


def record_capture_response(
    db: sqlite_utils.Database,
    raw_path: str,
    *,
    url: str,
    status: int,
    headers: Sequence[tuple[str, str]],
    at: datetime | str,
) -> None:
    """What the server sent with a stored raw capture (kept once: the same file is the same
    answer). `headers` in the order received, repeated names kept."""
    with write_transaction(db):
        db.execute(
            "INSERT OR IGNORE INTO capture_responses (raw_path, url, status, headers, fetched_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [raw_path, url, status, json.dumps([list(pair) for pair in headers]), iso_utc(at)],
        )
