"""Units of harvester.jobs that the end-to-end tests cannot reach exactly."""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import Future
from pathlib import Path

import pytest
import sqlite_utils

from harvester import jobs
from harvester.jobs import Batch
from harvester.runs import Summary


def test_an_interrupted_batch_is_rolled_back_and_counted_as_before_it(tmp_path: Path):
    """Ctrl-C may come between a save and its count: the run says what was committed."""
    db = sqlite_utils.Database(tmp_path / "index.db")
    db.execute("CREATE TABLE saved (n INTEGER)")
    summary = Summary()
    summary.add("new")
    with pytest.raises(KeyboardInterrupt), Batch(db, summary) as batch:
        batch.write()
        db.execute("INSERT INTO saved VALUES (1)")
        summary.add("new")
        db.execute("INSERT INTO saved VALUES (2)")
        raise KeyboardInterrupt  # before the second save is counted
    assert not db.conn.in_transaction
    reopened = sqlite_utils.Database(tmp_path / "index.db")
    assert reopened.execute("SELECT n FROM saved").fetchall() == []
    assert summary.archived == 1


def test_a_batch_ended_by_an_error_keeps_the_work_saved_before_it(tmp_path: Path):
    db = sqlite_utils.Database(tmp_path / "index.db")
    db.execute("CREATE TABLE saved (n INTEGER)")
    with pytest.raises(RuntimeError), Batch(db, Summary()) as batch:
        batch.write()
        db.execute("INSERT INTO saved VALUES (1)")
        raise RuntimeError("an article's bug")
    reopened = sqlite_utils.Database(tmp_path / "index.db")
    assert reopened.execute("SELECT n FROM saved").fetchall() == [(1,)]


def test_in_batches_commits_every_commit_every_items(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(jobs, "COMMIT_EVERY", 2)
    db = sqlite_utils.Database(tmp_path / "index.db")
    db.execute("CREATE TABLE saved (n INTEGER)")
    observer = sqlite_utils.Database(tmp_path / "index.db")
    committed_before: list[int] = []

    def handle(n: int, batch: Batch) -> None:
        committed_before.append(observer.execute("SELECT count(*) FROM saved").fetchone()[0])
        batch.write()
        db.execute("INSERT INTO saved VALUES (?)", [n])

    jobs.in_batches(db, range(5), handle, Summary())
    assert committed_before == [0, 0, 2, 2, 4]
    assert observer.execute("SELECT count(*) FROM saved").fetchone()[0] == 5


def test_a_batch_committed_early_holds_no_lock_until_its_next_write(tmp_path: Path):
    db = sqlite_utils.Database(tmp_path / "index.db")
    db.execute("CREATE TABLE saved (n INTEGER)")
    other = sqlite3.connect(tmp_path / "index.db", timeout=0)
    with Batch(db, Summary()) as batch:
        batch.write()
        db.execute("INSERT INTO saved VALUES (1)")
        batch.commit()  # what an import does before downloading an article's images
        other.execute("BEGIN IMMEDIATE")  # another command can write now
        other.execute("INSERT INTO saved VALUES (2)")
        other.execute("COMMIT")
        batch.write()
        db.execute("INSERT INTO saved VALUES (3)")
    assert other.execute("SELECT n FROM saved ORDER BY n").fetchall() == [(1,), (2,), (3,)]


def test_preparing_runs_at_most_prepare_ahead_tasks_ahead_of_the_writer(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "PREPARE_AHEAD", 3)
    submitted: list[list[Path]] = []

    class InlinePool:
        def submit(self, function, chunk):
            submitted.append(chunk)
            future: Future = Future()
            future.set_result(function(chunk))
            return future

    paths = [tmp_path / f"{n}.md" for n in range(40)]  # missing: each prepared as an error
    prepared = jobs.prepared_ahead(InlinePool(), paths)
    first = next(prepared)
    assert len(submitted) == 4  # three ahead, and one more once the first came back
    assert [item.path for item in [first, *prepared]] == paths
    assert first.error == f"{paths[0]}: no such file or folder"


def test_worker_processes_run_at_a_lower_priority_than_the_writer():
    with jobs.worker_pool() as pool:
        niceness = pool.submit(os.nice, 0).result()
    assert niceness == min(19, os.nice(0) + jobs.WORKER_NICENESS)
