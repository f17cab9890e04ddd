"""An archive folder and its index, as the archiving pipeline reads it.

Everything here only reads: what is archived under which key, which images of an article
are stored. Writing is the pipeline's save step (harvester/pipeline.py).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from archive.files import StoredImage, check_writable
from archive.index import BUSY_SECONDS, get_article, open_index, stored_images
from harvester.errors import DiskFull, is_disk_full
from harvester.links import ArticleLink
from harvester.model import Page
from harvester.settings import env_number


@dataclass(frozen=True)
class KeyChoice:
    """Where a page's article lives in the archive: its key, the short-link key it moves
    from (if it does), and its archived row under either (None when new)."""

    key: str | None
    take_over: str | None
    row: dict[str, Any] | None


@dataclass
class Archive:
    """An archive folder and its index, opened once per command."""

    root: Path
    db: sqlite_utils.Database

    @classmethod
    def open(cls, root: Path, *, writable_checked: bool = False) -> Archive:
        """The archive a command writes to; InputError if it cannot be written (checked
        here unless the caller did so already, as harvest does before taking its lock),
        DiskFull if its index has no room to open (SQLite grows its WAL files on opening).
        Its writes wait for another command's up to HARVESTER_BUSY_SECONDS (default
        BUSY_SECONDS)."""
        if not writable_checked:
            check_writable(root)
        busy = env_number(os.environ, "HARVESTER_BUSY_SECONDS") or BUSY_SECONDS
        try:
            return cls(root, open_index(root / "archive.db", busy))
        except sqlite3.Error as error:
            if is_disk_full(error):
                raise DiskFull(str(root / "archive.db")) from None
            raise

    def close(self) -> None:
        self.db.close()

    def row(self, key: str) -> dict[str, Any] | None:
        return get_article(self.db, key)

    def known_images(self, key: str | None) -> dict[str, StoredImage]:
        return stored_images(self.db, key) if key else {}

    def key_for(self, page: Page, short_key: str | None = None) -> KeyChoice:
        """The article's key in this archive, and the short-link key it takes over, if any.

        A page that names its biz/mid/idx gives the full key; an article archived under
        `short_key`, or with the page's short link as its short_url, moves to it (unless
        the full key is archived already). Otherwise an article already archived under the
        short link is the one.
        """
        if page.biz and page.mid and page.idx:
            key = f"{page.biz}:{page.mid}:{page.idx}"
            row = self.row(key)
            if row is None:
                for old in (short_key, self.key_of_short_url(page.short_url)):
                    old_row = self.row(old) if old and old != key else None
                    if old_row is not None:
                        return KeyChoice(key, old, old_row)
            return KeyChoice(key, None, row)
        found = self.key_of_short_url(page.short_url) or short_key or page.key
        return KeyChoice(found, None, self.row(found) if found else None)

    def has_link(self, link: ArticleLink) -> bool:
        """Whether the article a link names is archived already (no request needed)."""
        key = link.key if link.form != "short" else self.key_of_short_url(link.url) or link.key
        return self.row(key) is not None

    def key_of_short_url(self, short_url: str | None) -> str | None:
        if not short_url:
            return None
        rows = self.db.execute(
            "SELECT key FROM articles WHERE short_url = ? ORDER BY key LIMIT 1", [short_url]
        ).fetchall()
        return rows[0][0] if rows else None
