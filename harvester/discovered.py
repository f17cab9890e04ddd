"""What the harvest has learned about each account, in the archive's SQLite index: its own
four tables, created here when first used (like harvester/queue.py's).

`discovered`: one row per (article, channel) that found it: the article's key as the queue
keys it, the account (biz) when known before a fetch, the channel ("album", "weread",
"getainfo", "appmsgext", "page", "follow", or a source kind), first and last seen.
`account_albums`: the albums (合集) known of each account, which channel found them, and
when they were last listed, with the title getalbum gives. `album_articles`: which
articles an album listing showed, at which place in the album (`position`, 1 its first
article; NULL when the listing did not say), first and last seen; `harvester export epub
--album` reads it. `channel_state`: per account and channel, when it last worked
and when it last failed, with the reason. Over them the view `account_coverage`
(harvester/coverage.py): coverage a user can read, in Datasette and `harvester accounts`.

Only the harvest's main thread writes here, each write its own short transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from archive.files import read_raw
from archive.index import write_transaction
from archive.times import iso_utc
from harvester.coverage import VIEW, create_view
from harvester.sources.base import InAlbum
from harvester.sources.discovery import album_ids_in_page

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS discovered (
    key TEXT NOT NULL,
    channel TEXT NOT NULL,
    biz TEXT,
    source TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (key, channel)
)""",
    "CREATE INDEX IF NOT EXISTS idx_discovered_biz ON discovered(biz)",
    """CREATE TABLE IF NOT EXISTS account_albums (
    biz TEXT NOT NULL,
    album_id TEXT NOT NULL,
    title TEXT,
    found_by TEXT,
    first_seen TEXT NOT NULL,
    listed_at TEXT,
    PRIMARY KEY (biz, album_id)
)""",
    """CREATE TABLE IF NOT EXISTS album_articles (
    album_id TEXT NOT NULL,
    key TEXT NOT NULL,
    position INTEGER,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (album_id, key)
)""",
    "CREATE INDEX IF NOT EXISTS idx_album_articles_key ON album_articles(key)",
    """CREATE TABLE IF NOT EXISTS channel_state (
    biz TEXT NOT NULL,
    channel TEXT NOT NULL,
    last_worked TEXT,
    last_failed TEXT,
    last_error TEXT,
    PRIMARY KEY (biz, channel)
)""",
)


TABLES = frozenset({"discovered", "account_albums", "album_articles", "channel_state"})


@dataclass(frozen=True)
class Found:
    """One article a channel found: its key, its account if known, which source asked,
    where an album listing put it."""

    key: str
    channel: str
    biz: str | None
    source: str | None = None
    album: InAlbum | None = None


class Discovered:
    def __init__(self, db: sqlite_utils.Database, root: Path | None = None) -> None:
        self.db = db
        self.root = root  # the archive's folder, for its stored raw pages
        if not TABLES.issubset(db.table_names()):
            with write_transaction(db):
                for sql in SCHEMA:
                    db.execute(sql)
        if VIEW not in db.view_names():
            with write_transaction(db):
                create_view(db)

    # -- articles

    def record(self, found: Iterable[Found], *, now: datetime) -> None:
        at = iso_utc(now)
        with write_transaction(self.db):
            for item in found:
                self.db.execute(
                    """INSERT INTO discovered (key, channel, biz, source, first_seen, last_seen)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(key, channel) DO UPDATE SET last_seen = excluded.last_seen,
                        biz = coalesce(discovered.biz, excluded.biz)""",
                    [item.key, item.channel, item.biz, item.source, at, at],
                )
                if item.album is not None:
                    self._in_album(item, item.album, at)

    def _in_album(self, item: Found, album: InAlbum, at: str) -> None:
        """An article an album listed: its place there (the latest listing's), and the
        album's title, for the account's albums."""
        self.db.execute(
            """INSERT INTO album_articles (album_id, key, position, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(album_id, key) DO UPDATE SET last_seen = excluded.last_seen,
                position = coalesce(excluded.position, album_articles.position)""",
            [album.album_id, item.key, album.position, at, at],
        )
        if item.biz is not None:
            self._add_album(item.biz, album.album_id, album.title, item.channel, at)

    def known_keys(self, biz: str) -> set[str]:
        """Every `biz:mid:idx` key the archive, the queue or a channel knows of `biz`."""
        prefix = f"{biz}:"
        sql = """SELECT key FROM articles WHERE substr(key, 1, ?) = ?
            UNION SELECT key FROM discovered WHERE substr(key, 1, ?) = ?"""
        params: list[object] = [len(prefix), prefix, len(prefix), prefix]
        if "queue" in self.db.table_names():
            sql += " UNION SELECT key FROM queue WHERE substr(key, 1, ?) = ?"
            sql += " UNION SELECT article_key FROM queue WHERE substr(article_key, 1, ?) = ?"
            params += [len(prefix), prefix, len(prefix), prefix]
        return {row[0] for row in self.db.execute(sql, params).fetchall()}

    # -- albums

    def add_albums(
        self, biz: str, albums: Iterable[tuple[str, str | None]], *, found_by: str, now: datetime
    ) -> int:
        """Remember (album_id, title) pairs of `biz`; how many were new."""
        known = {album_id for album_id, _ in self.albums(biz)}
        added = 0
        with write_transaction(self.db):
            for album_id, title in albums:
                added += album_id not in known
                known.add(album_id)
                self._add_album(biz, album_id, title, found_by, iso_utc(now))
        return added

    def _add_album(
        self, biz: str, album_id: str, title: str | None, found_by: str, at: str
    ) -> None:
        self.db.execute(
            """INSERT INTO account_albums (biz, album_id, title, found_by, first_seen)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(biz, album_id) DO UPDATE SET
                title = coalesce(excluded.title, account_albums.title)""",
            [biz, album_id, title, found_by, at],
        )

    def scan_archived_pages(self, biz: str, *, now: datetime) -> int:
        """Remember the albums the stored raw pages of `biz`'s archived articles name (the
        ones fetched or imported before any harvest looked); how many were new."""
        if self.root is None:
            return 0
        rows = self.db.execute(
            "SELECT raw_path FROM articles WHERE biz = ? AND raw_path IS NOT NULL", [biz]
        ).fetchall()
        found: dict[str, None] = {}
        for (raw_path,) in rows:
            try:
                page = read_raw(self.root, raw_path).decode("utf-8", errors="replace")
            except (OSError, ValueError, EOFError):
                continue  # a raw page gone or damaged names nothing
            found.update(dict.fromkeys(album_ids_in_page(page)))
        return self.add_albums(biz, [(a, None) for a in found], found_by="page", now=now)

    def albums(self, biz: str) -> list[tuple[str, str | None]]:
        """(album_id, listed_at) of `biz`, in the order they were found."""
        rows = self.db.execute(
            "SELECT album_id, listed_at FROM account_albums WHERE biz = ? ORDER BY rowid", [biz]
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def album_listed(self, biz: str, album_id: str, *, title: str | None, now: datetime) -> None:
        with write_transaction(self.db):
            self.db.execute(
                """UPDATE account_albums SET listed_at = ?, title = coalesce(?, title)
                WHERE biz = ? AND album_id = ?""",
                [iso_utc(now), title, biz, album_id],
            )

    # -- channels

    def channel(self, biz: str, channel: str) -> tuple[str | None, str | None, str | None]:
        """(last_worked, last_failed, last_error) of a channel for `biz` (all None if never)."""
        row = self.db.execute(
            "SELECT last_worked, last_failed, last_error FROM channel_state "
            "WHERE biz = ? AND channel = ?",
            [biz, channel],
        ).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    def channel_worked(self, biz: str, channel: str, *, now: datetime) -> None:
        self._channel(biz, channel, "last_worked = excluded.last_worked", now, None)

    def channel_failed(self, biz: str, channel: str, error: str, *, now: datetime) -> None:
        self._channel(
            biz,
            channel,
            "last_failed = excluded.last_failed, last_error = excluded.last_error",
            now,
            error,
        )

    def _channel(
        self, biz: str, channel: str, update: str, now: datetime, error: str | None
    ) -> None:
        at = iso_utc(now)
        worked, failed = (at, None) if error is None else (None, at)
        with write_transaction(self.db):
            self.db.execute(
                f"""INSERT INTO channel_state (biz, channel, last_worked, last_failed, last_error)
                VALUES (?, ?, ?, ?, ?) ON CONFLICT(biz, channel) DO UPDATE SET {update}""",
                [biz, channel, worked, failed, error],
            )
