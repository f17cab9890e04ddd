"""Which of the databases a Datasette serves are archives: the plugin acts on those only.

Plain `datasette archive.db other.db` loads the plugin for every database it serves, so
each hook first asks whether its database is an archive index (by its tables,
archive.index.schema.is_archive_index), never by its name. The answer is looked up once
per database (at startup, or when a database first shows up) and kept for the hooks that
cannot wait for a query (render_cell, get_metadata, menu_links). The pages that belong to
no database (/-/search, /-/article/…, the feeds, /images/…) show the first archive.
"""

from __future__ import annotations

import sqlite3
import weakref
from pathlib import Path
from typing import Any

from datasette.utils.asgi import NotFound

from archive.index.schema import is_archive_index

_INTERNAL = "_internal"
_found: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()


def _check(conn: sqlite3.Connection) -> bool:
    try:
        return is_archive_index(conn)
    except sqlite3.DatabaseError:  # not a database at all: certainly no archive
        return False


async def archive_names(datasette: Any) -> list[str]:
    """The names of the archive databases `datasette` serves, in its order."""
    known = _found.setdefault(datasette, {})
    for name, db in list(datasette.databases.items()):
        if name not in known:
            known[name] = name != _INTERNAL and await db.execute_fn(_check)
    return [name for name in datasette.databases if known.get(name)]


def known_archives(datasette: Any) -> list[str]:
    """archive_names as far as already looked up (hooks that must answer at once)."""
    known = _found.get(datasette, {})
    return [name for name in datasette.databases if known.get(name)]


def is_known_archive(datasette: Any, database: str | None) -> bool:
    return database is not None and _found.get(datasette, {}).get(database, False)


async def is_archive(datasette: Any, database: str) -> bool:
    return database in await archive_names(datasette)


async def first_archive(datasette: Any) -> str:
    """The archive the instance-wide pages show; NotFound when no archive is served."""
    names = await archive_names(datasette)
    if not names:
        raise NotFound("No WeChat archive is open here")
    return names[0]


def archive_folder(datasette: Any, database: str) -> Path | None:
    """The archive's folder (where archive.db, articles/ and images/ are), if on disk."""
    path = datasette.get_database(database).path
    return Path(path).parent if path else None
