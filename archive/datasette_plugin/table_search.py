"""The articles table's `?_search=`, fast at 100k articles: the matches found once a page.

Datasette runs the search's WHERE (archive.search.MATCHING_ARTICLES_WHERE) in each
statement of a table page: the rows, the count and every facet, each on any of its
connections. The WHERE calls the SQL function `archive_matches(match)`, registered here
on every connection of an archive: it gives the matching rowids as JSON, found before
the page's first statement (find_matches) and kept for the next ones (and for the next
pages, the JSON and the facet links) while the database is unchanged (kept.py).
"""

from __future__ import annotations

import json
import sqlite3
from functools import partial
from typing import Any

from archive.datasette_plugin.kept import Kept
from archive.search import MATCHES_FUNCTION, matching_rowids

_matches_kept = Kept(16)  # searches; one is a list of up to 100,000 numbers


def _matches(conn: sqlite3.Connection, path: str | None, match: str | None) -> str:
    if not match:
        return "[]"
    return _matches_kept.get(path, match, lambda: json.dumps(matching_rowids(conn, match)))


async def find_matches(datasette: Any, database: str, match: str) -> None:
    """Find the matches of `match` before the page's statements ask for them: outside
    their time limit (sql_time_limit_ms), which a first search of a large archive whose
    pages are not cached yet could exceed."""
    db = datasette.get_database(database)
    await db.execute_fn(lambda conn: _matches(conn, db.path, match))


def register_matches(conn: sqlite3.Connection, path: str | None) -> None:
    """Give `conn` (on the archive at `path`) the SQL function the table search uses."""
    function: Any = partial(_matches, conn, path)
    conn.create_function(MATCHES_FUNCTION, 1, function)
