"""How much of each account the archive holds: `harvester accounts` and the Datasette view
`account_coverage` read the same SQL.

Per account (biz): articles known (archived, queued, or found by any channel), archived,
missing (known, not archived yet); the oldest and newest archived; the channels that
found them; the albums found; when each channel last worked (and its last failure); and
`coverage`, which tells "we have all of it" from "we have what the albums show":
"whole account (probed)" once a getainfo probe of the mid space has finished, "as WeRead
lists it" when WeRead's list has worked, "what the albums show" when albums were paged,
else "what was linked or fetched". A short link still unresolved counts as known and
missing until its fetch names its key.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import sqlite_utils

from archive.times import local_when

VIEW = "account_coverage"
COLUMNS = (
    "biz",
    "account",
    "known",
    "archived",
    "missing",
    "oldest",
    "newest",
    "coverage",
    "channels",
    "albums",
    "channels_last_worked",
)


def coverage_sql(tables: set[str]) -> str:
    """The coverage SELECT over the tables this archive has (the harvest's may be absent)."""
    has_discovery = {"discovered", "account_albums", "channel_state"} <= tables
    resolved = "coalesce(q.article_key, d.key)" if "queue" in tables else "d.key"
    joined = "LEFT JOIN queue q ON q.key = d.key" if "queue" in tables else ""
    found = (
        f"""SELECT d.biz AS biz, {resolved} AS key, d.channel AS channel
        FROM discovered d {joined} WHERE d.biz IS NOT NULL UNION ALL """
        if has_discovery
        else ""
    )
    worked = (
        "(SELECT 1 FROM channel_state c WHERE c.biz = p.biz AND c.channel = {!r} "
        "AND c.last_worked IS NOT NULL)"
    )
    if has_discovery:
        coverage = f"""CASE WHEN EXISTS {worked.format("getainfo")} THEN 'whole account (probed)'
            WHEN EXISTS {worked.format("weread")} THEN 'as WeRead lists it'
            WHEN EXISTS {worked.format("album")} THEN 'what the albums show'
            ELSE 'what was linked or fetched' END"""
        albums = "(SELECT count(*) FROM account_albums al WHERE al.biz = p.biz)"
        last = """(SELECT group_concat(line, '; ') FROM (SELECT c.channel || ' '
            || coalesce(c.last_worked, 'never')
            || coalesce(' (failed ' || c.last_failed || ': ' || c.last_error || ')', '') AS line
            FROM channel_state c WHERE c.biz = p.biz ORDER BY c.channel))"""
    else:
        coverage, albums, last = "'what was linked or fetched'", "0", "NULL"
    return f"""WITH known AS (
        {found}SELECT biz, key, 'archive' AS channel FROM articles WHERE biz IS NOT NULL
    ),
    p AS (SELECT biz, count(DISTINCT key) AS known FROM known GROUP BY biz)
    SELECT p.biz AS biz,
        (SELECT nickname FROM accounts acc WHERE acc.biz = p.biz) AS account,
        p.known AS known,
        (SELECT count(*) FROM articles a WHERE a.biz = p.biz) AS archived,
        p.known - (SELECT count(DISTINCT k.key) FROM known k JOIN articles a ON a.key = k.key
            WHERE k.biz = p.biz) AS missing,
        (SELECT min(published_at) FROM articles a WHERE a.biz = p.biz) AS oldest,
        (SELECT max(published_at) FROM articles a WHERE a.biz = p.biz) AS newest,
        {coverage} AS coverage,
        (SELECT group_concat(channel, ', ') FROM (SELECT DISTINCT channel FROM known k
            WHERE k.biz = p.biz AND channel != 'archive' ORDER BY channel)) AS channels,
        {albums} AS albums,
        {last} AS channels_last_worked
    FROM p ORDER BY account, biz"""


def account_coverage(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """One dict an account, COLUMNS as keys."""
    sql = coverage_sql(set(db.table_names()))
    return [dict(zip(COLUMNS, row, strict=True)) for row in db.execute(sql).fetchall()]


def create_view(db: sqlite_utils.Database) -> None:
    """The Datasette view `account_coverage` (the harvest creates it with its tables)."""
    db.execute(f"CREATE VIEW IF NOT EXISTS {VIEW} AS {coverage_sql(set(db.table_names()))}")


def format_accounts(rows: list[dict[str, Any]], *, as_json: bool) -> str:
    """What `harvester accounts` prints: a block an account, or one JSON array."""
    if as_json:
        return json.dumps(rows, ensure_ascii=False, indent=1)
    if not rows:
        return "no accounts in the archive yet"
    blocks = []
    for row in rows:
        span = f"; {row['oldest'][:10]} … {row['newest'][:10]}" if row["oldest"] else ""
        name = f"{row['account']} ({row['biz']})" if row["account"] else row["biz"]
        lines = [
            f"{name}: {row['known']} known, {row['archived']} archived, "
            f"{row['missing']} missing{span}",
            f"  coverage: {row['coverage']}",
            f"  found by: {row['channels'] or '—'}; albums: {row['albums']}",
        ]
        if row["channels_last_worked"]:
            lines.append(f"  last worked: {_local_times(row['channels_last_worked'])}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def _local_times(text: str) -> str:
    """Stored times (UTC) as people read every time the program shows: local, with offset."""
    return _STORED_TIME.sub(
        lambda m: local_when(datetime.fromisoformat(m[0].replace("Z", "+00:00"))), text
    )
