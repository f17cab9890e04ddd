"""What the Datasette plugin keeps between pages (archive/datasette_plugin/kept.py and the
facet counts of facets.py): kept while the database is unchanged, never after."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from archive.datasette_plugin.facets import column_counts
from archive.datasette_plugin.kept import Kept


def _database(tmp_path: Path) -> str:
    path = tmp_path / "archive.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = wal")
        conn.execute("CREATE TABLE t (n INTEGER)")
    return str(path)


def test_an_answer_is_worked_out_once_while_the_database_is_unchanged(tmp_path: Path) -> None:
    path = _database(tmp_path)
    kept = Kept(4)
    asked: list[str] = []
    answers = [kept.get(path, "q", lambda: asked.append("q") or len(asked)) for _ in range(3)]
    assert answers == [1, 1, 1]
    assert asked == ["q"]


def test_a_commit_to_the_database_makes_the_answer_worked_out_again(tmp_path: Path) -> None:
    path = _database(tmp_path)
    kept = Kept(4)
    assert kept.get(path, "q", lambda: "before") == "before"
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    assert kept.get(path, "q", lambda: "after") == "after"


def test_the_least_recently_used_answer_goes_first(tmp_path: Path) -> None:
    path = _database(tmp_path)
    kept = Kept(2)
    kept.get(path, "a", lambda: "a1")
    kept.get(path, "b", lambda: "b1")
    kept.get(path, "a", lambda: "a2")  # a is used again: b is now the oldest
    kept.get(path, "c", lambda: "c1")
    assert kept.get(path, "a", lambda: "a3") == "a1"
    assert kept.get(path, "b", lambda: "b2") == "b2"


def test_an_answer_worked_out_across_a_commit_is_not_kept_as_the_newer_version(
    tmp_path: Path,
) -> None:
    path = _database(tmp_path)
    kept = Kept(4)
    key = kept.version_key(path, "q")
    with sqlite3.connect(path) as conn:  # a commit lands while the answer is worked out
        conn.execute("INSERT INTO t VALUES (1)")
    kept.store(key, "read before the commit")
    assert kept.get(path, "q", lambda: "read after") == "read after"


def test_column_counts_add_up_each_column_most_first_without_null() -> None:
    rows = [("甲", 2024, 3), ("乙", 2024, 1), ("甲", None, 2), (None, 2023, 5)]
    assert column_counts(rows, 2) == [
        [("甲", 5), ("乙", 1)],
        [(2023, 5), (2024, 4)],
    ]


def test_column_counts_order_ties_as_sqlite_does_numbers_then_text_then_blobs() -> None:
    rows = [(b"x", 1), ("b", 1), ("a", 1), (10, 1), (2.5, 1)]
    assert column_counts(rows, 1) == [[(2.5, 1), (10, 1), ("a", 1), ("b", 1), (b"x", 1)]]
