"""Full-text search over the archive index: the SQL of every search.

The text side (the spaced copy, the MATCH expression, snippets) is
archive.fulltext's. Here: the ranked search with snippets (search(): /-/search,
the best matches above the articles table, `harvester search`), how many
articles match in all (count_matches()), the snippet of one article (the
articles table's body cells while searching), and the WHERE clause that keeps
the articles table to the matching articles (with matching_rowids behind it).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import sqlite_utils

from archive.fulltext import ELLIPSIS, fts_query, natural_snippet

TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0
SNIPPET_TOKENS = 32
CELL_SNIPPET_TOKENS = 24  # a table cell: shorter than a search result's snippet

# Two steps: rank every match (bm25 alone), then snippets and rows for the best `limit`
# only, looked up by rowid; a common 2-character query matches a sixth of a 100k archive,
# and one query doing both would evaluate the phrase match twice over all of them.
# Equal ranks are ordered by rowid, so pages (`offset`) never repeat or skip a match.
_RANK_SQL = f"""
SELECT rowid, bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS rank
FROM articles_fts WHERE articles_fts MATCH :match
ORDER BY rank, rowid LIMIT :limit OFFSET :offset
"""
# The total: the phrase match alone, no ranking and no rows.
_COUNT_SQL = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH :match"


def snippets_sql(rows: str, tokens: int) -> str:
    """The matching articles among `rows` with body snippets of up to `tokens` tokens.

    `rows` is SQL giving `articles_search` ids; besides its own parameters the
    query takes those of snippet_params.
    """
    return f"""
SELECT articles_fts.rowid AS id, a.key, a.title, a.account, a.published_at, a.status,
    snippet(articles_fts, 1, :open, :close, :ellipsis, {tokens}) AS snippet
FROM articles_fts
JOIN articles_search s ON s.id = articles_fts.rowid
JOIN articles a ON a.key = s.key
WHERE articles_fts MATCH :match AND articles_fts.rowid IN ({rows})
"""


_HITS_SQL = snippets_sql("SELECT value FROM json_each(:ids)", SNIPPET_TOKENS)
# One article's snippet (a table cell: one a row of the page), by its key; nothing else
# is read, so neither row is looked up twice.
ARTICLE_SNIPPET_SQL = f"""
SELECT snippet(articles_fts, 1, :open, :close, :ellipsis, {CELL_SNIPPET_TOKENS}) AS snippet
FROM articles_fts
WHERE articles_fts MATCH :match AND rowid = (SELECT id FROM articles_search WHERE key = :key)
"""
# The articles table's own search (Datasette's `?_search=`) runs its WHERE in every
# statement of the page: the rows, the count, each facet. So the matching articles are
# found once (matching_rowids, kept by the caller) and each statement only tests its rows
# against that list. Their keys come from covering indexes (`+s.id`: reading the spaced
# copy's rows, as large as the articles, took 120 ms for 16,000 matches at 100k), and
# the test is `+rowid`, so SQLite makes it while walking the index the statement needs
# anyway (published_at for the page, the facet's column for a facet) instead of reading
# every match from the table: Datasette selects every column, and sorting 16,000 whole
# rows by date took a second.
_MATCHING_ROWIDS_SQL = """
SELECT a.rowid FROM articles_search s JOIN articles a ON a.key = s.key
WHERE +s.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH :match)
"""  # no ORDER BY: SQLite would read the articles table in rowid order to give it
# The same test in plain SQL, for a connection without that function (the exports): each
# matching key looked up once, as a statement run once needs.
MATCHING_KEYS_WHERE = (
    "key in (select s.key from articles_fts join articles_search s "
    "on s.id = articles_fts.rowid where articles_fts match :archive_match)"
)
MATCHES_FUNCTION = "archive_matches"  # SQL: archive_matches(match) -> JSON list of rowids
MATCHING_ARTICLES_WHERE = (
    f"+rowid IN (SELECT value FROM json_each({MATCHES_FUNCTION}(:archive_match)))"
)


def matching_rowids(conn: sqlite3.Connection, match: str) -> list[int]:
    """The `articles` rowids of the articles matching `match` (an fts_query expression)."""
    return [row[0] for row in conn.execute(_MATCHING_ROWIDS_SQL, {"match": match})]


def snippet_params(match: str, open_mark: str, close_mark: str, ellipsis: str) -> dict[str, str]:
    """The parameters every snippets_sql query takes (`match`: an fts_query expression)."""
    return {"match": match, "open": open_mark, "close": close_mark, "ellipsis": ellipsis}


@dataclass(frozen=True)
class SearchHit:
    key: str
    title: str | None
    account: str | None
    published_at: str | None
    snippet: str
    rank: float
    status: str = "live"


def count_matches(db: sqlite_utils.Database, query: str) -> int:
    """How many articles match `query` (all terms), as search() finds them."""
    match = fts_query(query)
    if not match:
        return 0
    return db.execute(_COUNT_SQL, {"match": match}).fetchone()[0]


def search(
    db: sqlite_utils.Database,
    query: str,
    limit: int = 20,
    *,
    offset: int = 0,
    open_mark: str = "<mark>",
    close_mark: str = "</mark>",
    ellipsis: str = ELLIPSIS,
) -> list[SearchHit]:
    """Articles matching `query` (all terms), best bm25 first (title weighs 10x).

    The best `limit` after skipping the best `offset` (a page of the ranking).
    Any input is safe (see fts_query); an empty or punctuation-only query finds
    nothing. The snippet comes from the body (up to 32 tokens; a CJK character
    is one token) and reads naturally (no artificial separators between Chinese
    characters), with matches wrapped in open_mark/close_mark. Within a page,
    equal ranks are newest first.
    """
    match = fts_query(query)
    if not match or limit <= 0:
        return []
    bounds = {"match": match, "limit": limit, "offset": max(0, offset)}
    ranks = {row[0]: row[1] for row in db.execute(_RANK_SQL, bounds)}
    params = snippet_params(match, open_mark, close_mark, ellipsis)
    params["ids"] = json.dumps(list(ranks))
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
