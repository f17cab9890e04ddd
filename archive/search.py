"""Full-text search over the archive index (Chinese-aware; see archive.index)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from archive.index import CJK_SEP, fts_query, unspace

TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0
SNIPPET_TOKENS = 32

# Two steps: rank every match (bm25 alone), then snippets and rows for the best `limit`
# only, looked up by rowid; a common 2-character query matches a sixth of a 100k archive,
# and one query doing both would evaluate the phrase match twice over all of them.
_RANK_SQL = f"""
SELECT rowid, bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS rank
FROM articles_fts WHERE articles_fts MATCH :match
ORDER BY rank LIMIT :limit
"""
_HITS_SQL = f"""
SELECT articles_fts.rowid AS id, a.key, a.title, a.account, a.published_at, a.status,
    snippet(articles_fts, 1, :open, :close, :ellipsis, {SNIPPET_TOKENS}) AS snippet
FROM articles_fts
JOIN articles_search s ON s.id = articles_fts.rowid
JOIN articles a ON a.key = s.key
WHERE articles_fts MATCH :match AND articles_fts.rowid IN (SELECT value FROM json_each(:ids))
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
    ranks = {row[0]: row[1] for row in db.execute(_RANK_SQL, {"match": match, "limit": limit})}
    params = {
        "match": match,
        "ids": json.dumps(list(ranks)),
        "open": open_mark,
        "close": close_mark,
        "ellipsis": ellipsis,
    }
    hits = [
        SearchHit(
            key=row["key"],
            title=row["title"],
            account=row["account"],
            published_at=row["published_at"],
            snippet=natural_snippet(row["snippet"] or "", open_mark, close_mark),
            rank=ranks[row["id"]],
            status=row["status"],
        )
        for row in db.query(_HITS_SQL, params)
    ]
    hits.sort(key=lambda hit: hit.key)
    hits.sort(key=lambda hit: hit.published_at or "", reverse=True)
    hits.sort(key=lambda hit: hit.rank)
    return hits
