"""An article's images and links in the index (the image files are archive/files.py's)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from archive.files import StoredImage
from archive.index.transaction import insert_row, write_transaction


def stored_images(db: sqlite_utils.Database, key: str) -> dict[str, StoredImage]:
    """Images of an article already stored, by original URL: what a re-fetch need not download."""
    rows = db.query(
        """SELECT article_images.url, images.* FROM article_images
        JOIN images ON images.sha256 = article_images.sha256
        WHERE article_images.article_key = ? AND article_images.status = 'ok'""",
        [key],
    )
    return {
        row["url"]: StoredImage(
            row["sha256"], row["path"], row["mime"], row["size"], row["width"], row["height"]
        )
        for row in rows
    }


@dataclass(frozen=True)
class ImageEntry:
    """One image of an article: `image` is None when it could not be stored (missing)."""

    position: int
    url: str
    image: StoredImage | None = None
    alt: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class LinkEntry:
    """One link from an article; `to_key` when the target is a WeChat article."""

    to_url: str
    to_key: str | None = None
    text: str | None = None


def _coerce(entry: Any, cls: type) -> Any:
    if isinstance(entry, cls):
        return entry
    if isinstance(entry, Mapping):
        return cls(**entry)
    return cls(*entry)


def save_images(
    db: sqlite_utils.Database,
    key: str,
    entries: Iterable[ImageEntry | Mapping[str, Any]],
    *,
    replace: bool = True,
) -> None:
    """Record an article's images (and each stored image once in `images`).

    status is "ok" with a sha256 when stored, else "missing" with the error.
    attempts counts how often this URL at this position was recorded (+1 each
    time). replace=True (default): `entries` is the whole list, other positions
    are removed; replace=False updates only the given positions (retries).
    """
    items = [_coerce(entry, ImageEntry) for entry in entries]
    with write_transaction(db):
        for item in items:
            _save_image(db, key, item)
        if replace:
            keep = [item.position for item in items]
            marks = ", ".join("?" for _ in keep)
            db.execute(
                f"DELETE FROM article_images WHERE article_key = ? AND position NOT IN ({marks})",
                [key, *keep],
            )


def _save_image(db: sqlite_utils.Database, key: str, item: ImageEntry) -> None:
    stored = item.image
    if stored is not None:
        db.execute(
            """INSERT INTO images (sha256, mime, size, width, height, path, first_url)
            VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING""",
            [
                stored.sha256,
                stored.mime,
                stored.size,
                stored.width,
                stored.height,
                stored.relpath,
                item.url,
            ],
        )
    db.execute(
        """INSERT INTO article_images
            (article_key, position, url, sha256, alt, status, error, attempts)
        VALUES (?, ?, ?, ?, ?, ?, ?, 1)
        ON CONFLICT(article_key, position) DO UPDATE SET
            attempts = CASE WHEN url = excluded.url THEN attempts + 1 ELSE 1 END,
            url = excluded.url, sha256 = excluded.sha256, alt = excluded.alt,
            status = excluded.status, error = excluded.error""",
        [
            key,
            item.position,
            item.url,
            stored.sha256 if stored else None,
            item.alt,
            "ok" if stored else "missing",
            None if stored else item.error,
        ],
    )


def missing_images(db: sqlite_utils.Database, key: str | None = None) -> list[dict[str, Any]]:
    """article_images rows still missing (for one article, or all), oldest first."""
    where, params = ("AND article_key = ?", [key]) if key else ("", [])
    sql = (
        "SELECT * FROM article_images WHERE status = 'missing' "
        f"{where} ORDER BY article_key, position"
    )
    return list(db.query(sql, params))


def save_links(
    db: sqlite_utils.Database, key: str, links: Iterable[LinkEntry | Mapping[str, Any]]
) -> None:
    """Replace the links recorded from article `key` (positions 0, 1, ... in order)."""
    items = [_coerce(link, LinkEntry) for link in links]
    with write_transaction(db):
        db.execute("DELETE FROM links WHERE from_key = ?", [key])
        for position, link in enumerate(items):
            insert_row(
                db,
                "links",
                {
                    "from_key": key,
                    "position": position,
                    "to_key": link.to_key,
                    "to_url": link.to_url,
                    "text": link.text,
                },
            )
