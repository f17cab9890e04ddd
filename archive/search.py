"""Full-text search over the archive index (Chinese-aware; see archive.index)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from archive.index import CJK_SEP, fts_query, unspace

TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0
SNIPPET_TOKENS = 32

# Rank every match first (bm25 only), then build snippets and join rows for the best
# `limit` alone: a common 2-character query matches a sixth of a 100k archive.
_SEARCH_SQL = f"""
WITH best AS (
    SELECT rowid AS id, bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS rank
    FROM articles_fts WHERE articles_fts MATCH :match
    ORDER BY rank LIMIT :limit
)
SELECT a.key, a.title, a.account, a.published_at, a.status,
    snippet(articles_fts, 1, :open, :close, :ellipsis, {SNIPPET_TOKENS}) AS snippet,
    best.rank AS rank
FROM articles_fts
JOIN best ON best.id = articles_fts.rowid
JOIN articles_search s ON s.id = articles_fts.rowid
JOIN articles a ON a.key = s.key
WHERE articles_fts MATCH :match
ORDER BY best.rank, a.published_at DESC, a.key
"""


@dataclass(frozen=True)
class SearchHit:
    key: str
    title: str | None
    account: str | None
    published_at: str | None
    snippet: str
    rank: float
    status: str = "live"


def natural_snippet(snippet: str, open_mark: str, close_mark: str) -> str:
    """A snippet of the spaced copy made readable: separators gone, adjacent marks merged."""
    merged = snippet.replace(close_mark + CJK_SEP + open_mark, CJK_SEP)
    return unspace(merged)


def search(
    db: sqlite_utils.Database,
    query: str,
    limit: int = 20,
    *,
    open_mark: str = "<mark>",
    close_mark: str = "</mark>",
    ellipsis: str = "…",
) -> list[SearchHit]:
    """Articles matching `query` (all terms), best bm25 first (title weighs 10x).

    Any input is safe (see fts_query); an empty or punctuation-only query finds
    nothing. The snippet comes from the body (up to 32 tokens; a CJK character
    is one token) and reads naturally (no artificial separators between Chinese
    characters), with matches wrapped in open_mark/close_mark.
    """
    match = fts_query(query)
    if not match or limit <= 0:
        return []
    params = {
        "match": match,
        "open": open_mark,
        "close": close_mark,
        "ellipsis": ellipsis,
        "limit": limit,
    }
    return [
        SearchHit(
            key=row["key"],
            title=row["title"],
            account=row["account"],
            published_at=row["published_at"],
            snippet=natural_snippet(row["snippet"] or "", open_mark, close_mark),
            rank=row["rank"],
            status=row["status"],
        )
        for row in db.query(_SEARCH_SQL, params)
    ]
