"""Articles in the index: saving a capture, status changes, renderings, rekeying.

The save functions only write the database (no file I/O); each runs in one
transaction, or in a savepoint when the caller already holds one. What they take
of an article is any object with the fields of ArticleFields (harvester's Page is
one): the index knows nothing of how pages are parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import sqlite_utils

from archive.fulltext import cjk_spaced, search_copy
from archive.index.transaction import insert_row, write_transaction
from archive.kinds import ARTICLE_KINDS, STATUS_KINDS, STATUSES
from archive.times import in_china, iso_utc


class ArticleFields(Protocol):
    """What the index reads of an article (harvester.model.Page has all of it)."""

    kind: str
    title: str | None
    account: str | None
    account_id: str | None
    author: str | None
    published_at: datetime | None
    seed_date: datetime | None
    url: str | None
    short_url: str | None
    biz: str | None
    mid: str | None
    idx: str | None
    sn: str | None
    cover: str | None
    digest: str | None
    original: bool | None
    source_url: str | None
    shared_url: str | None
    paid: bool
    tags: list[str]
    categories: list[str]


def _key_parts(key: str) -> tuple[str | None, str | None, str | None]:
    parts = key.split(":")
    if len(parts) == 3 and all(parts) and parts[0] not in ("s", "t"):
        return parts[0], parts[1], parts[2]
    return None, None, None


def _json_list(values: list[str] | None) -> str | None:
    return json.dumps(list(values), ensure_ascii=False) if values else None


def _bool(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


def _page_columns(page: ArticleFields, key: str) -> dict[str, Any]:
    """Article columns read from an article's fields (None = unknown)."""
    biz, mid, idx = _key_parts(key)
    known = page.published_at or page.seed_date
    published = in_china(known) if known else None
    return {
        "title": page.title,
        "account": page.account,
        "published_at": published.isoformat(timespec="seconds") if published else None,
        "year": published.year if published else None,
        "date_source": ("page" if page.published_at else "seed") if published else None,
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


def _update_article(db: sqlite_utils.Database, key: str, values: Mapping[str, Any]) -> None:
    """Set `values`; a None value keeps what the row already has."""
    sets = ", ".join(f"{column} = coalesce(?, {column})" for column in values)
    db.execute(f"UPDATE articles SET {sets} WHERE key = ?", [*values.values(), key])


# How an account row already there takes in a new sighting.
_SEEN = """nickname = coalesce(excluded.nickname, nickname),
    account_id = coalesce(excluded.account_id, account_id),
    first_seen = min(coalesce(first_seen, excluded.first_seen), excluded.first_seen),
    last_seen = max(coalesce(last_seen, excluded.last_seen), excluded.last_seen)"""


def _upsert_account(
    db: sqlite_utils.Database, biz: str | None, page: ArticleFields | None, at: str
) -> None:
    """The article's account: by biz when the page gives it (taking over the row of the same
    name that had none), else by name, unless an account of that name is known already."""
    name = page.account if page else None
    seen = [at, at]
    if biz:
        db.execute(
            "UPDATE accounts SET biz = ? WHERE biz IS NULL AND nickname = ? "
            "AND NOT EXISTS (SELECT 1 FROM accounts WHERE biz = ?)",
            [biz, name, biz],
        )
        db.execute(
            f"""INSERT INTO accounts (biz, nickname, account_id, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?) ON CONFLICT(biz) DO UPDATE SET {_SEEN}""",
            [biz, name, page.account_id if page else None, *seen],
        )
    elif name:
        db.execute(
            f"""INSERT INTO accounts (nickname, first_seen, last_seen)
            SELECT ?, ?, ?
            WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE nickname = ? AND biz IS NOT NULL)
            ON CONFLICT(nickname) WHERE biz IS NULL DO UPDATE SET {_SEEN}""",
            [name, *seen, name],
        )


def _add_revision(db: sqlite_utils.Database, key: str, at: str, change: str, **values: Any) -> None:
    insert_row(db, "revisions", {"article_key": key, "fetched_at": at, "change": change, **values})


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
    page: ArticleFields,
    *,
    key: str,
    md_path: str | None,
    content_hash: str | None,
    body_text: str | None,
    raw_path: str | None,
    fetched_at: datetime | str,
    search_body: str | None = None,
    status: str = "live",
    earlier_hash: str | None = None,
) -> str:
    """Record one fetched or imported article: "new", "updated" or "unchanged".

    `status`: the article's after this capture (live for a served page; what an archived
    copy says when one is read back). Same content_hash as stored: only last_checked_at
    changes, unless the row's status was another (it is set, with a status revision:
    "updated"). Different content: the row takes the page's values (None keeps the old
    value), a revision is added, revision_count grows, older revisions stay. The account
    row is upserted. A page whose kind is deleted/blocked/unavailable/expired records that
    status instead (see mark_status); verification pages and bare links are refused with
    ValueError. `search_body` is search_copy(body_text) when made ahead (by a worker).
    `earlier_hash`: the same content as an older version of the program hashed it; a row
    holding it is unchanged, and takes content_hash.
    """
    if page.kind in STATUS_KINDS:
        return _save_status_page(db, page, key=key, raw_path=raw_path, fetched_at=fetched_at)
    if page.kind not in ARTICLE_KINDS:
        raise ValueError(f"not an article: kind {page.kind!r}")
    at = iso_utc(fetched_at)
    columns = _page_columns(page, key)
    content = {"md_path": md_path, "raw_path": raw_path, "content_hash": content_hash}
    with write_transaction(db):
        _upsert_account(db, columns["biz"], page, at)
        row = get_article(db, key)
        revision = {"kind": page.kind, "title": page.title, **content}
        if row is None:
            insert_row(
                db,
                "articles",
                {
                    "key": key,
                    **columns,
                    **content,
                    "kind": page.kind,
                    "status": status,
                    "paid": int(page.paid),
                    "body_text": body_text,
                    "status_changed_at": at,
                    "first_fetched_at": at,
                    "last_checked_at": at,
                    "revision_count": 1,
                },
            )
            _add_revision(db, key, at, "new", status=status, **revision)
            _index_text(db, key, page.title, body_text, search_body)
            return "new"
        if row["content_hash"] is not None and row["content_hash"] in (content_hash, earlier_hash):
            return _same_content(db, row, columns, content_hash, status, at, raw_path)
        _update_article(db, key, {**_better_date(columns, row), **content, "kind": page.kind})
        db.execute(
            """UPDATE articles SET paid = ?, body_text = ?, last_checked_at = ?,
                status = ?, status_changed_at = CASE WHEN status = ?
                    THEN status_changed_at ELSE ? END,
                first_fetched_at = coalesce(first_fetched_at, ?),
                revision_count = revision_count + 1
            WHERE key = ?""",
            [int(page.paid), body_text, at, status, status, at, at, key],
        )
        _add_revision(db, key, at, "content", status=status, **revision)
        _index_text(db, key, page.title or row["title"], body_text, search_body)
        return "updated"


def _same_content(
    db: sqlite_utils.Database,
    row: Mapping[str, Any],
    columns: Mapping[str, Any],
    content_hash: str | None,
    status: str,
    at: str,
    raw_path: str | None,
) -> str:
    """A capture of the version archived: checked now, dated if it was not, its status set."""
    db.execute(
        "UPDATE articles SET last_checked_at = ?, content_hash = ? WHERE key = ?",
        [at, content_hash, row["key"]],
    )
    _date_if_undated(db, row, columns)
    if row["status"] == status:
        return "unchanged"
    _set_status(db, row, status, at, raw_path)
    return "updated"


DATE_COLUMNS = ("published_at", "year", "date_source")


def _better_date(columns: dict[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """The columns to update, without a seed's date where the page's own is stored."""
    if columns["date_source"] == "seed" and row["date_source"] == "page":
        return {name: value for name, value in columns.items() if name not in DATE_COLUMNS}
    return columns


def _date_if_undated(
    db: sqlite_utils.Database, row: Mapping[str, Any], columns: Mapping[str, Any]
) -> None:
    """An article archived without a date (before dates were stored) takes the one known."""
    if row["published_at"] is None and columns["published_at"] is not None:
        db.execute(
            "UPDATE articles SET published_at = ?, year = ?, date_source = ? WHERE key = ?",
            [*(columns[name] for name in DATE_COLUMNS), row["key"]],
        )


def _save_status_page(
    db: sqlite_utils.Database,
    page: ArticleFields,
    *,
    key: str,
    raw_path: str | None,
    fetched_at: datetime | str,
) -> str:
    at = iso_utc(fetched_at)
    with write_transaction(db):
        row = get_article(db, key)
        if row is not None:
            return "updated" if _set_status(db, row, page.kind, at, raw_path) else "unchanged"
        columns = {k: v for k, v in _page_columns(page, key).items() if v is not None}
        _upsert_account(db, columns.get("biz"), page, at)
        insert_row(
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
    when = iso_utc(at)
    with write_transaction(db):
        row = get_article(db, key)
        if row is None:
            raise KeyError(key)
        return _set_status(db, row, status, when, raw_path)


def update_rendering(
    db: sqlite_utils.Database,
    key: str,
    *,
    md_path: str,
    body_text: str,
    content_hash: str | None = None,
) -> bool:
    """Store a re-rendered Markdown body (rebuild, newly downloaded images): no revision.
    `content_hash`: the rendering's, taken silently (the content is the same version)."""
    with write_transaction(db):
        row = get_article(db, key)
        if row is None:
            raise KeyError(key)
        if content_hash is not None and row["content_hash"] != content_hash:
            db.execute("UPDATE articles SET content_hash = ? WHERE key = ?", [content_hash, key])
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
            [iso_utc(at), key, iso_utc(at)],
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
