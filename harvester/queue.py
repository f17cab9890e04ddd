"""The harvest's memory between runs, in the archive's SQLite index: its own two tables,
created here when the queue is first used (an archive never harvested has none).

`queue`: one row per article the harvest has meant to fetch, keyed like the archive
(`biz:mid:idx`, or `s:<short id>` until a fetch resolves it). Sources are listed first and
every new article is committed as `pending`; the drain then takes pending rows in `seq`
order (so a run killed half way leaves the rest for the next run, which takes them first)
and marks each `done` or `failed` once the archive has it (or it failed). A failed row
is tried again by the next runs, up to MAX_ATTEMPTS; a row of any state means "known":
listing the article again costs no request.

`host_backoff`: a host that served a verification page, freq control or a 429 we would not
wait out is left alone until `until`; each consecutive time waits twice as long (from
`backoff_hours`, at most 48 h) and a run that gets through clears the expired rows.

Every write is its own short transaction; only the harvest's main thread calls this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from archive.index import write_transaction
from archive.times import iso_utc, parse_time

PENDING, DONE, FAILED = "pending", "done", "failed"
MAX_ATTEMPTS = 3
MAX_BACKOFF = timedelta(hours=48)

QUEUE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS queue (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    source TEXT,
    title TEXT,
    published_at TEXT,
    enqueued_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    run_id INTEGER REFERENCES runs(id),
    seq INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT 'new',
    seed_path TEXT,
    follow INTEGER NOT NULL DEFAULT 0,
    only_biz TEXT,
    article_key TEXT,
    updated_at TEXT
)""",
    "CREATE INDEX IF NOT EXISTS idx_queue_state_seq ON queue(state, seq)",
    "CREATE INDEX IF NOT EXISTS idx_queue_run_id ON queue(run_id)",
    "CREATE INDEX IF NOT EXISTS idx_queue_source ON queue(source)",
    "CREATE INDEX IF NOT EXISTS idx_queue_article_key ON queue(article_key)",
    """CREATE TABLE IF NOT EXISTS host_backoff (
    host TEXT PRIMARY KEY,
    until TEXT NOT NULL,
    level INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    since TEXT
)""",
)


def ensure_queue_tables(db: sqlite_utils.Database) -> None:
    """Create the queue's tables where they are missing: an archive whose index is older
    than this module's ownership of them got them from the index's migration 3."""
    if {"queue", "host_backoff"} <= set(db.table_names()):
        return
    with write_transaction(db):
        for sql in QUEUE_SCHEMA:
            db.execute(sql)


@dataclass(frozen=True)
class QueueItem:
    """One pending article. `reason`: "new" (a source listed it), "refresh" (re-check an
    archived one), "follow" (linked from an archived one); `follow`: queue what this one
    links to; `only_biz`: archive it only if the page turns out to be of this account."""

    key: str
    url: str
    source: str | None = None
    title: str | None = None
    published_at: str | None = None
    reason: str = "new"
    seed_path: str | None = None
    follow: bool = False
    only_biz: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class Backoff:
    host: str
    until: datetime
    level: int
    reason: str | None


class HarvestQueue:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        ensure_queue_tables(db)

    # -- what is known

    def state(self, key: str) -> str | None:
        row = self.db.execute("SELECT state FROM queue WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def pending_count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM queue WHERE state = ?", [PENDING]).fetchone()
        return row[0]

    # -- adding

    def add(self, items: Iterable[QueueItem], run_id: int, *, now: datetime) -> int:
        """Insert the items not queued yet (any state); how many were inserted."""
        inserted = 0
        with write_transaction(self.db):
            for item in items:
                cursor = self.db.execute(
                    """INSERT INTO queue (key, url, source, title, published_at, enqueued_at,
                        state, attempts, run_id, seq, reason, seed_path, follow, only_biz,
                        updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?,
                        (SELECT coalesce(max(seq), 0) + 1 FROM queue), ?, ?, ?, ?, ?)
                    ON CONFLICT(key) DO NOTHING""",
                    [
                        item.key,
                        item.url,
                        item.source,
                        item.title,
                        item.published_at,
                        iso_utc(now),
                        run_id,
                        item.reason,
                        item.seed_path,
                        int(item.follow),
                        item.only_biz,
                        iso_utc(now),
                    ],
                )
                inserted += cursor.rowcount
        return inserted

    def requeue(self, items: Iterable[QueueItem], run_id: int, *, now: datetime) -> int:
        """Queue again (pending, at the end) articles whose rows may be done already."""
        count = 0
        with write_transaction(self.db):
            for item in items:
                self.db.execute(
                    """INSERT INTO queue (key, url, source, title, published_at, enqueued_at,
                        state, attempts, run_id, seq, reason, article_key, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?,
                        (SELECT coalesce(max(seq), 0) + 1 FROM queue), ?, ?, ?)
                    ON CONFLICT(key) DO UPDATE SET state = 'pending', url = excluded.url,
                        reason = excluded.reason, attempts = 0, last_error = NULL,
                        run_id = excluded.run_id, seq = excluded.seq, follow = 0,
                        seed_path = NULL, only_biz = NULL, updated_at = excluded.updated_at""",
                    [
                        item.key,
                        item.url,
                        item.source,
                        item.title,
                        item.published_at,
                        iso_utc(now),
                        run_id,
                        item.reason,
                        item.key,
                        iso_utc(now),
                    ],
                )
                count += 1
        return count

    def revive_failed(self, *, now: datetime) -> int:
        """Failed rows with attempts left become pending again (at the end of the queue)."""
        with write_transaction(self.db):
            keys = [
                row[0]
                for row in self.db.execute(
                    "SELECT key FROM queue WHERE state = ? AND attempts < ? ORDER BY seq",
                    [FAILED, MAX_ATTEMPTS],
                ).fetchall()
            ]
            for key in keys:
                self.db.execute(
                    """UPDATE queue SET state = 'pending', updated_at = ?,
                        seq = (SELECT coalesce(max(seq), 0) + 1 FROM queue) WHERE key = ?""",
                    [iso_utc(now), key],
                )
        return len(keys)

    # -- draining

    def pending(self, *, exclude: set[str], limit: int = 100) -> list[QueueItem]:
        """The next pending items in queue order, leaving out `exclude` (taken already)."""
        items: list[QueueItem] = []
        offset = 0
        while len(items) < limit:
            rows = list(
                self.db.query(
                    "SELECT * FROM queue WHERE state = ? ORDER BY seq LIMIT ? OFFSET ?",
                    [PENDING, limit, offset],
                )
            )
            if not rows:
                break
            offset += len(rows)
            items += [_item(row) for row in rows if row["key"] not in exclude]
        return items[:limit]

    def finish(
        self,
        key: str,
        state: str,
        run_id: int,
        *,
        now: datetime,
        error: str | None = None,
        article_key: str | None = None,
        final: bool = False,
    ) -> None:
        """Record an item's outcome. `final`: a failure not worth trying again."""
        attempts = f"max({MAX_ATTEMPTS:d}, attempts + 1)" if final else "attempts + 1"
        with write_transaction(self.db):
            self.db.execute(
                f"""UPDATE queue SET state = ?, attempts = {attempts},
                    last_error = ?, run_id = ?, article_key = coalesce(?, article_key),
                    updated_at = ? WHERE key = ?""",
                [state, error, run_id, article_key, iso_utc(now), key],
            )

    # -- host backoff

    def backoffs(self) -> dict[str, Backoff]:
        return {
            row["host"]: Backoff(
                row["host"], parse_time(row["until"], naive=UTC), row["level"], row["reason"]
            )
            for row in self.db.query("SELECT * FROM host_backoff ORDER BY host")
        }

    def active_backoffs(self, now: datetime) -> dict[str, Backoff]:
        return {host: b for host, b in self.backoffs().items() if b.until > now}

    def back_off(
        self,
        host: str,
        *,
        now: datetime,
        hours: float,
        reason: str,
        at_least: float | None = None,
    ) -> Backoff:
        """Leave `host` alone for hours * 2**level (at most 48 h, at least `at_least` s)."""
        previous = self.backoffs().get(host)
        level = previous.level + 1 if previous else 0
        wait = min(MAX_BACKOFF, timedelta(hours=hours) * 2**level)
        if at_least is not None:
            wait = max(wait, timedelta(seconds=at_least))
        until = now + wait
        if until.microsecond:  # stored to the second: round up, never early
            until = until.replace(microsecond=0) + timedelta(seconds=1)
        backoff = Backoff(host, until, level, reason)
        with write_transaction(self.db):
            self.db.execute(
                """INSERT INTO host_backoff (host, until, level, reason, since)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(host) DO UPDATE SET until = excluded.until, level = excluded.level,
                    reason = excluded.reason, since = excluded.since""",
                [host, iso_utc(backoff.until), level, reason, iso_utc(now)],
            )
        return backoff

    def clear_expired_backoffs(self, now: datetime) -> None:
        """After a run that got through: expired backoffs start again from level 0."""
        with write_transaction(self.db):
            self.db.execute("DELETE FROM host_backoff WHERE until <= ?", [iso_utc(now)])


def _item(row: dict) -> QueueItem:
    return QueueItem(
        key=row["key"],
        url=row["url"],
        source=row["source"],
        title=row["title"],
        published_at=row["published_at"],
        reason=row["reason"],
        seed_path=row["seed_path"],
        follow=bool(row["follow"]),
        only_biz=row["only_biz"],
        attempts=row["attempts"],
    )


def mark_interrupted_runs(db: sqlite_utils.Database, stale: Callable[[dict], bool]) -> list[int]:
    """Runs still "running" whose process is gone become "interrupted"; their ids.

    `stale(row)` says whether a running row's process is gone (a harvest holding the
    lock knows every other harvest row is; other commands are judged by their pid).
    """
    rows = [row for row in db.query("SELECT * FROM runs WHERE outcome = 'running'") if stale(row)]
    if not rows:
        return []
    with write_transaction(db):
        for row in rows:
            done = db.execute(
                "SELECT count(*) FROM queue WHERE run_id = ? AND state = ?", [row["id"], DONE]
            ).fetchone()[0]
            db.execute(
                "UPDATE runs SET outcome = 'interrupted', message = ? WHERE id = ?",
                [
                    f"interrupted: process {row['pid']} ended before finishing the run "
                    f"(killed?); {done} queued articles were done by then",
                    row["id"],
                ],
            )
    return [row["id"] for row in rows]
