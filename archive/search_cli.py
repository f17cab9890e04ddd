"""`harvester search QUERY`: the archive's full-text search in the terminal.

Same search as the web pages (archive.search: Chinese words of any length, Latin
words, all terms required, best bm25 first). One block a hit: title; account ·
date · status · key; the snippet with the matches highlighted (colours on a
terminal, `[`…`]` when piped); the Markdown file. Then one summary line, which
says how many match in all when there are more than --limit. Everything an article
brings is printed without its escape sequences and control characters (terminal_safe).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from rich.console import Console
from rich.text import Text

from archive.errors import InputError
from archive.fulltext import CLOSE_MARK, ELLIPSIS, OPEN_MARK, fts_query, marked_parts, tidy_snippet
from archive.index import (
    SCHEMA_VERSION,
    SchemaTooNew,
    open_index,
    schema_version,
    unreadable_index,
)
from archive.search import SearchHit, count_matches, search
from archive.terminal import terminal_safe

MATCH_STYLE = "bold black on yellow"


def open_readonly(db_path: Path) -> sqlite_utils.Database:
    """The archive index opened read-only (migrated first if it is older than this program)."""
    uri = Path(db_path).resolve().as_uri() + "?mode=ro"
    try:
        db = sqlite_utils.Database(sqlite3.connect(uri, uri=True))
        version = schema_version(db)
        if version < SCHEMA_VERSION:
            db.close()
            open_index(db_path).close()
            db = sqlite_utils.Database(sqlite3.connect(uri, uri=True))
        elif version > SCHEMA_VERSION:
            db.close()
            raise SchemaTooNew(
                f"{db_path}: index schema version {version} is newer than this program "
                f"supports ({SCHEMA_VERSION}); upgrade wechat-archive"
            )
    except SchemaTooNew as error:
        raise InputError(str(error)) from None
    except sqlite3.DatabaseError as error:
        unreadable = unreadable_index(db_path, error)
        raise unreadable or InputError(
            f"{db_path}: cannot read the archive index ({error})"
        ) from None
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def _md_paths(db: sqlite_utils.Database, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    marks = ", ".join("?" for _ in keys)
    sql = f"SELECT key, md_path FROM articles WHERE key IN ({marks})"
    return {key: path for key, path in db.execute(sql, keys).fetchall() if path}


def print_search(archive_dir: Path, query: str, limit: int = 20) -> None:
    """Print the best `limit` matches for `query` in the archive at `archive_dir`."""
    if not query or not query.strip():
        raise InputError("empty search query: give the words to search for, e.g. 神经修复")
    if not fts_query(query):
        raise InputError(f"nothing to search for in {query!r}: give a word or Chinese characters")
    if limit < 1:
        raise InputError(f"--limit must be at least 1, not {limit}")
    archive_dir = Path(archive_dir)
    db = open_readonly(archive_dir / "archive.db")
    try:
        hits = search(
            db, query, limit, open_mark=OPEN_MARK, close_mark=CLOSE_MARK, ellipsis=ELLIPSIS
        )
        paths = _md_paths(db, [hit.key for hit in hits])
        total = count_matches(db, query) if len(hits) >= limit else len(hits)
    except sqlite3.DatabaseError as error:
        raise InputError(f"{archive_dir}: search failed ({error})") from None
    finally:
        db.close()

    console = Console(highlight=False, emoji=False, soft_wrap=True)
    styled = console.is_terminal
    for number, hit in enumerate(hits, start=1):
        path = archive_dir / paths[hit.key] if hit.key in paths else None
        block = _block(number, hit, path, styled)
        if styled:
            console.print(block)
        else:
            print(block.plain)
    print_line = console.print if styled else print
    shown = terminal_safe(query)
    if not hits:
        print_line(Text(f"No articles match “{shown}”."))
        return
    noun = "article matches" if len(hits) == 1 else "articles match"
    summary = f"{len(hits)} {noun} “{shown}”, best first."
    if total > len(hits):
        summary = (
            f"The best {len(hits)} of {total} articles matching “{shown}”; "
            f"{total - len(hits)} more with --limit {total}."
        )
    print_line(Text(summary))


def _block(number: int, hit: SearchHit, path: Path | None, styled: bool) -> Text:
    indent = " " * (len(str(number)) + 2)
    text = Text()
    text.append(f"{number}. ")
    text.append(_one_line(hit.title or "(untitled)"), style="bold")
    text.append("\n" + indent)
    status_style = "dim" if hit.status == "live" else "bold red"
    meta = [hit.account or "unknown account", (hit.published_at or "undated")[:10]]
    text.append(_one_line(" · ".join(meta)) + " · ", style="dim")
    text.append(_one_line(hit.status or "live"), style=status_style)
    text.append(f" · {_one_line(hit.key)}", style="dim")
    snippet = tidy_snippet(hit.snippet)
    if snippet:
        text.append("\n" + indent)
        _append_marked(text, snippet, styled)
    if path is not None:
        text.append("\n" + indent)
        text.append(_one_line(str(path)), style="dim")
    text.append("\n")
    return text


def _append_marked(text: Text, snippet: str, styled: bool) -> None:
    """The snippet with its marked matches highlighted (or in `[`…`]` when plain)."""
    for marked, is_match in marked_parts(snippet):
        part = terminal_safe(marked)
        if not is_match:
            text.append(part)
        elif styled:
            text.append(part, style=MATCH_STYLE)
        else:
            text.append(f"[{part}]")


def _one_line(value: str) -> str:
    """A field of an article as one line a terminal only shows."""
    return terminal_safe(value).replace("\n", " ").replace("\t", " ")
