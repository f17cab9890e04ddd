"""The SQLite index of the archive (sqlite-utils; Datasette opens it as is).

Schema changes are an ordered list of migration functions (MIGRATIONS); the
`migrations` table records each applied version (mirrored in PRAGMA
user_version) and each runs once, in its own transaction. A database written by
newer code is refused with SchemaTooNew.

Chinese full-text search: `articles_search` holds a copy of each article's
title and body in which every CJK character is its own token (archive.fulltext
makes it and says why). `articles_fts` is an external-content FTS5 index over
`articles_search`, kept in sync by triggers on that shadow table; the save
functions here write the shadow rows (the spaced copy needs Python).

The save functions only write the database (no file I/O); each runs in one
transaction, or in a savepoint when the caller already holds one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from archive.files import StoredImage
from archive.fulltext import cjk_spaced, search_copy
from harvester.model import Page

CHINA_TZ = timezone(timedelta(hours=8), "CST")
STATUSES = frozenset({"live", "deleted", "blocked", "unavailable", "expired"})
STATUS_KINDS = STATUSES - {"live"}

# --- schema ------------------------------------------------------------------


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of this program."""


def _m001_core(db: sqlite_utils.Database) -> None:
    for sql in CORE_SCHEMA:
        db.execute(sql)


def _m002_search(db: sqlite_utils.Database) -> None:
    for sql in SEARCH_SCHEMA:
        db.execute(sql)


CORE_SCHEMA = (
    """CREATE TABLE accounts (
    biz TEXT PRIMARY KEY,
    nickname TEXT,
    account_id TEXT,
    first_seen TEXT,
    last_seen TEXT
)""",
    """CREATE TABLE articles (
    key TEXT PRIMARY KEY,
    title TEXT,
    account TEXT,
    published_at TEXT,
    year INTEGER,
    kind TEXT,
    status TEXT NOT NULL DEFAULT 'live',
    author TEXT,
    original INTEGER,
    paid INTEGER NOT NULL DEFAULT 0,
    digest TEXT,
    cover TEXT,
    url TEXT,
    short_url TEXT,
    source_url TEXT,
    shared_url TEXT,
    biz TEXT REFERENCES accounts(biz),
    mid TEXT,
    idx TEXT,
    sn TEXT,
    tags TEXT,
    categories TEXT,
    md_path TEXT,
    raw_path TEXT,
    content_hash TEXT,
    status_changed_at TEXT,
    first_fetched_at TEXT,
    last_checked_at TEXT,
    revision_count INTEGER NOT NULL DEFAULT 0,
    body_text TEXT
)""",
    "CREATE INDEX idx_articles_biz ON articles(biz)",
    "CREATE INDEX idx_articles_published_at ON articles(published_at)",
    "CREATE INDEX idx_articles_status ON articles(status)",
    "CREATE INDEX idx_articles_account ON articles(account)",
    "CREATE INDEX idx_articles_year ON articles(year)",
    "CREATE INDEX idx_articles_kind ON articles(kind)",
    """CREATE TABLE revisions (
    id INTEGER PRIMARY KEY,
    article_key TEXT NOT NULL REFERENCES articles(key),
    fetched_at TEXT NOT NULL,
    change TEXT NOT NULL,
    status TEXT NOT NULL,
    kind TEXT,
    title TEXT,
    content_hash TEXT,
    raw_path TEXT,
    md_path TEXT
)""",
    "CREATE INDEX idx_revisions_article_key ON revisions(article_key)",
    """CREATE TABLE images (
    sha256 TEXT PRIMARY KEY,
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    path TEXT NOT NULL,
    first_url TEXT
)""",
    """CREATE TABLE article_images (
    article_key TEXT NOT NULL REFERENCES articles(key),
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    sha256 TEXT REFERENCES images(sha256),
    alt TEXT,
    status TEXT NOT NULL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (article_key, position)
)""",
    "CREATE INDEX idx_article_images_sha256 ON article_images(sha256)",
    "CREATE INDEX idx_article_images_status ON article_images(status)",
    """CREATE TABLE links (
    from_key TEXT NOT NULL REFERENCES articles(key),
    position INTEGER NOT NULL,
    to_key TEXT,
    to_url TEXT NOT NULL,
    text TEXT,
    PRIMARY KEY (from_key, position)
)""",
    "CREATE INDEX idx_links_to_key ON links(to_key)",
    """CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    command TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT 'running',
    counts TEXT,
    pid INTEGER,
    message TEXT
)""",
    """CREATE TABLE fetches (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id),
    url TEXT NOT NULL,
    at TEXT NOT NULL,
    status INTEGER,
    outcome TEXT NOT NULL,
    error TEXT,
    elapsed_ms INTEGER,
    article_key TEXT
)""",
    "CREATE INDEX idx_fetches_run_id ON fetches(run_id)",
    "CREATE INDEX idx_fetches_at ON fetches(at)",
    "CREATE INDEX idx_fetches_article_key ON fetches(article_key)",
)

SEARCH_SCHEMA = (
    """CREATE TABLE articles_search (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE REFERENCES articles(key) ON DELETE CASCADE,
    title TEXT,
    body TEXT
)""",
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, content="articles_search", content_rowid="id",
    tokenize="unicode61 remove_diacritics 2"
)""",
    """CREATE TRIGGER articles_search_ai AFTER INSERT ON articles_search BEGIN
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
    """CREATE TRIGGER articles_search_ad AFTER DELETE ON articles_search BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
END""",
    """CREATE TRIGGER articles_search_au AFTER UPDATE ON articles_search BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
)


def _m003_harvest(db: sqlite_utils.Database) -> None:
    """Version 3 made the harvest's queue tables; their code owns them now and creates them
    when first used (harvester/queue.py), so here the version is only recorded."""


def _m004_short_url_index(db: sqlite_utils.Database) -> None:
    """Imports and fetches look articles up by short link: keep that flat at 100k articles."""
    db.execute("CREATE INDEX idx_articles_short_url ON articles(short_url)")


def _m005_raw_capture_index(db: sqlite_utils.Database) -> None:
    """`rebuild` lists the articles that have a raw capture: from a small index, not by
    reading every row of the table (seconds at 100k articles when the file is not cached)."""
    db.execute(
        "CREATE INDEX idx_articles_raw_capture ON articles(key, raw_path)"
        " WHERE raw_path IS NOT NULL"
    )


FTS_AUTOMERGE = 8


def _m006_fts_automerge(db: sqlite_utils.Database) -> None:
    """FTS5 merges a level's segments once it has 4 (its default); at 8 the index has fewer
    levels, so each entry is rewritten fewer times as the archive grows. In scripts/bench.py
    `rebuild` per article went from 1.3x to 1.08x between 10k and 100k articles, with
    search latency unchanged."""
    db.execute(
        "INSERT INTO articles_fts(articles_fts, rank) VALUES ('automerge', ?)", [FTS_AUTOMERGE]
    )


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _m001_core,
    _m002_search,
    _m003_harvest,
    _m004_short_url_index,
    _m005_raw_capture_index,
    _m006_fts_automerge,
)
SCHEMA_VERSION = len(MIGRATIONS)


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction (BEGIN IMMEDIATE), or a savepoint inside the caller's."""
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def schema_version(db: sqlite_utils.Database) -> int:
    """The highest migration applied to `db` (0 for a new database)."""
    if "migrations" not in db.table_names():
        return 0
    return db.execute("SELECT coalesce(max(version), 0) FROM migrations").fetchone()[0]


def _check_not_newer(db: sqlite_utils.Database) -> int:
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"archive index schema version {version} is newer than this program "
            f"supports ({SCHEMA_VERSION}); upgrade wechat-archive to open it"
        )
    return version


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every pending migration, each once in its own transaction; the new version."""
    with write_transaction(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        _check_not_newer(db)
    for version, migration in enumerate(MIGRATIONS, start=1):
        with write_transaction(db):
            if _check_not_newer(db) >= version:
                continue
            migration(db)
            db.execute(
                "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, migration.__name__.lstrip("_"), _utc_iso(None)),
            )
            db.execute(f"PRAGMA user_version = {version:d}")
    return schema_version(db)


def open_index(path: Path) -> sqlite_utils.Database:
    """Open (creating and migrating) the index at `path`: WAL, foreign keys on."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA busy_timeout = 10000")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA journal_mode = WAL")
    # Savepoints (one per article saved in a batch) keep their journals in memory, not
    # in a temporary file each; an 8 MB page cache holds most of a batch's pages.
    db.execute("PRAGMA temp_store = MEMORY")
    db.execute("PRAGMA cache_size = -8000")
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


# --- values ------------------------------------------------------------------


def _utc_iso(moment: datetime | str | None) -> str:
    """ISO 8601 in UTC with offset (naive = UTC; None = now); strings pass through."""
    if isinstance(moment, str):
        return moment
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _china(moment: datetime | None) -> datetime | None:
    """A publish time in China time (naive = already China time)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CHINA_TZ)
    return moment.astimezone(CHINA_TZ)


def _key_parts(key: str) -> tuple[str | None, str | None, str | None]:
    parts = key.split(":")
    if len(parts) == 3 and all(parts) and parts[0] not in ("s", "t"):
        return parts[0], parts[1], parts[2]
    return None, None, None


def _json_list(values: list[str] | None) -> str | None:
    return json.dumps(list(values), ensure_ascii=False) if values else None


def _bool(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


def _page_columns(page: Page, key: str) -> dict[str, Any]:
    """Article columns read from a Page (None = unknown)."""
    biz, mid, idx = _key_parts(key)
    published = _china(page.published_at)
    return {
        "title": page.title,
        "account": page.account,
        "published_at": published.isoformat(timespec="seconds") if published else None,
        "year": published.year if published else None,
        "author": page.author,
        "original": _bool(page.original),
        "digest": page.digest,
        "cover": page.cover,
        "url": page.url,
        "short_url": page.short_url,
        "source_url": page.source_url,
        "shared_url": page.shared_url,
        "biz": page.biz or biz,
        "mid": page.mid or mid,
        "idx": page.idx or idx,
        "sn": page.sn,
        "tags": _json_list(page.tags),
        "categories": _json_list(page.categories),
    }


def get_article(db: sqlite_utils.Database, key: str) -> dict[str, Any] | None:
    """The articles row for `key` as a dict, or None."""
    rows = list(db.query("SELECT * FROM articles WHERE key = ?", [key]))
    return rows[0] if rows else None


KEYS_WITH_RAW_CAPTURE = "SELECT key FROM articles WHERE raw_path IS NOT NULL ORDER BY key"


def keys_with_raw_capture(db: sqlite_utils.Database) -> list[str]:
    """Keys of the articles that have a stored raw capture (what `rebuild` re-converts)."""
    return [key for (key,) in db.execute(KEYS_WITH_RAW_CAPTURE)]


# --- writes ------------------------------------------------------------------


def _insert(db: sqlite_utils.Database, table: str, row: Mapping[str, Any]) -> int:
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
    return cursor.lastrowid


def _update_article(db: sqlite_utils.Database, key: str, values: Mapping[str, Any]) -> None:
    """Set `values`; a None value keeps what the row already has."""
    sets = ", ".join(f"{column} = coalesce(?, {column})" for column in values)
    db.execute(f"UPDATE articles SET {sets} WHERE key = ?", [*values.values(), key])


def _upsert_account(db: sqlite_utils.Database, biz: str | None, page: Page | None, at: str) -> None:
    if not biz:
        return
    db.execute(
        """INSERT INTO accounts (biz, nickname, account_id, first_seen, last_seen)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(biz) DO UPDATE SET
            nickname = coalesce(excluded.nickname, nickname),
            account_id = coalesce(excluded.account_id, account_id),
            first_seen = min(coalesce(first_seen, excluded.first_seen), excluded.first_seen),
            last_seen = max(coalesce(last_seen, excluded.last_seen), excluded.last_seen)""",
        [biz, page.account if page else None, page.account_id if page else None, at, at],
    )


def _add_revision(db: sqlite_utils.Database, key: str, at: str, change: str, **values: Any) -> None:
    _insert(db, "revisions", {"article_key": key, "fetched_at": at, "change": change, **values})


def _index_text(
    db: sqlite_utils.Database,
    key: str,
    title: str | None,
    body: str | None,
    search_body: str | None = None,
) -> None:
    db.execute(
        """INSERT INTO articles_search (key, title, body) VALUES (?, ?, ?)
        ON CONFLICT(key) DO UPDATE SET title = excluded.title, body = excluded.body""",
        [key, cjk_spaced(title), search_copy(body) if search_body is None else search_body],
    )


def save_article(
    db: sqlite_utils.Database,
    page: Page,
    *,
    key: str,
    md_path: str | None,
    content_hash: str | None,
    body_text: str | None,
    raw_path: str | None,
    fetched_at: datetime | str,
    search_body: str | None = None,
) -> str:
    """Record one fetched or imported article: "new", "updated" or "unchanged".

    Same content_hash as stored: only last_checked_at changes (unless the
    article was marked deleted/unavailable/... and is back: status becomes
    live, with a status revision, and the result is "updated"). Different
    content: the row takes the page's values (None keeps the old value), a
    revision is added, revision_count grows, older revisions stay. The account
    row is upserted. A page whose kind is deleted/blocked/unavailable/expired
    records that status instead (see mark_status); verification pages and bare
    links are refused with ValueError. `search_body` is search_copy(body_text) when
    it was made ahead (by a worker process).
    """
    if page.kind in STATUS_KINDS:
        return _save_status_page(db, page, key=key, raw_path=raw_path, fetched_at=fetched_at)
    if not page.is_article:
        raise ValueError(f"not an article: kind {page.kind!r}")
    at = _utc_iso(fetched_at)
    columns = _page_columns(page, key)
    content = {"md_path": md_path, "raw_path": raw_path, "content_hash": content_hash}
    with write_transaction(db):
        _upsert_account(db, columns["biz"], page, at)
        row = get_article(db, key)
        revision = {"kind": page.kind, "title": page.title, **content}
        if row is None:
            _insert(
                db,
                "articles",
                {
                    "key": key,
                    **columns,
                    **content,
                    "kind": page.kind,
                    "status": "live",
                    "paid": int(page.paid),
                    "body_text": body_text,
                    "status_changed_at": at,
                    "first_fetched_at": at,
                    "last_checked_at": at,
                    "revision_count": 1,
                },
            )
            _add_revision(db, key, at, "new", status="live", **revision)
            _index_text(db, key, page.title, body_text, search_body)
            return "new"
        if row["content_hash"] == content_hash:
            db.execute("UPDATE articles SET last_checked_at = ? WHERE key = ?", [at, key])
            if row["status"] == "live":
                return "unchanged"
            _set_status(db, row, "live", at, raw_path)
            return "updated"
        _update_article(db, key, {**columns, **content, "kind": page.kind})
        db.execute(
            """UPDATE articles SET paid = ?, body_text = ?, last_checked_at = ?,
                status = 'live', status_changed_at = CASE WHEN status = 'live'
                    THEN status_changed_at ELSE ? END,
                first_fetched_at = coalesce(first_fetched_at, ?),
                revision_count = revision_count + 1
            WHERE key = ?""",
            [int(page.paid), body_text, at, at, at, key],
        )
        _add_revision(db, key, at, "content", status="live", **revision)
        _index_text(db, key, page.title or row["title"], body_text, search_body)
        return "updated"


def _save_status_page(
    db: sqlite_utils.Database,
    page: Page,
    *,
    key: str,
    raw_path: str | None,
    fetched_at: datetime | str,
) -> str:
    at = _utc_iso(fetched_at)
    with write_transaction(db):
        row = get_article(db, key)
        if row is not None:
            return "updated" if _set_status(db, row, page.kind, at, raw_path) else "unchanged"
        columns = {k: v for k, v in _page_columns(page, key).items() if v is not None}
        _upsert_account(db, columns.get("biz"), page, at)
        _insert(
            db,
            "articles",
            {
                "key": key,
                **columns,
                "status": page.kind,
                "raw_path": raw_path,
                "status_changed_at": at,
                "first_fetched_at": at,
                "last_checked_at": at,
            },
        )
        _add_revision(db, key, at, "new", status=page.kind, raw_path=raw_path)
        return "new"


def _set_status(
    db: sqlite_utils.Database, row: Mapping[str, Any], status: str, at: str, raw_path: str | None
) -> bool:
    key = row["key"]
    if row["status"] == status:
        db.execute("UPDATE articles SET last_checked_at = ? WHERE key = ?", [at, key])
        return False
    db.execute(
        "UPDATE articles SET status = ?, status_changed_at = ?, last_checked_at = ? WHERE key = ?",
        [status, at, at, key],
    )
    _add_revision(
        db,
        key,
        at,
        "status",
        status=status,
        kind=row["kind"],
        title=row["title"],
        raw_path=raw_path,
    )
    return True


def mark_status(
    db: sqlite_utils.Database,
    key: str,
    status: str,
    at: datetime | str,
    *,
    raw_path: str | None = None,
) -> bool:
    """Set an article's status (live/deleted/blocked/unavailable/expired).

    Keeps every other column and all archived content; adds a revision row
    (change "status") when the status changes. False if it was already so
    (last_checked_at is still updated). KeyError for an unknown key.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {sorted(STATUSES)}")
    when = _utc_iso(at)
    with write_transaction(db):
        row = get_article(db, key)
        if row is None:
            raise KeyError(key)
        return _set_status(db, row, status, when, raw_path)


def update_rendering(db: sqlite_utils.Database, key: str, *, md_path: str, body_text: str) -> bool:
    """Store a re-rendered Markdown body (rebuild, newly downloaded images): no revision."""
    with write_transaction(db):
        row = get_article(db, key)
        if row is None:
            raise KeyError(key)
        if (row["md_path"], row["body_text"]) == (md_path, body_text):
            return False
        db.execute(
            "UPDATE articles SET md_path = ?, body_text = ? WHERE key = ?",
            [md_path, body_text, key],
        )
        _index_text(db, key, row["title"], body_text)
        return True


def note_first_capture(db: sqlite_utils.Database, key: str, at: datetime) -> None:
    """An older capture of the same article (a seed file's earlier copy) moves its
    first capture time back, so every copy renders the same front matter."""
    with write_transaction(db):
        db.execute(
            "UPDATE articles SET first_fetched_at = ? WHERE key = ? AND first_fetched_at > ?",
            [_utc_iso(at), key, _utc_iso(at)],
        )


REKEYED_COLUMNS = (
    ("revisions", "article_key"),
    ("article_images", "article_key"),
    ("links", "from_key"),
    ("links", "to_key"),
    ("articles_search", "key"),
    ("fetches", "article_key"),
)


def rekey_article(db: sqlite_utils.Database, old_key: str, new_key: str) -> bool:
    """Move an article known by a short-link key to its `biz:mid:idx` key, history included.

    False when there is nothing to move (no `old_key`, or `new_key` already taken).
    """
    with write_transaction(db):
        if get_article(db, old_key) is None or get_article(db, new_key) is not None:
            return False
        db.execute("PRAGMA defer_foreign_keys = ON")
        db.execute("UPDATE articles SET key = ? WHERE key = ?", [new_key, old_key])
        for table, column in REKEYED_COLUMNS:
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", [new_key, old_key])
        return True


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
            _insert(
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
        return _insert(
            db,
            "fetches",
            {
                "run_id": run_id,
                "url": url,
                "at": _utc_iso(at),
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
        return _insert(
            db,
            "runs",
            {
                "started_at": _utc_iso(at),
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
            [_utc_iso(at), outcome, counts_json, message, run_id],
        )
        if cursor.rowcount != 1:
            raise KeyError(run_id)
