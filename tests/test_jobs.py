"""Units of harvester.jobs that the end-to-end tests cannot reach exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from harvester.jobs import committed_as_far_as_done


def test_an_interrupted_batch_keeps_the_work_done_before_the_interruption(tmp_path: Path):
    db = sqlite_utils.Database(tmp_path / "index.db")
    db.execute("CREATE TABLE saved (n INTEGER)")
    with pytest.raises(KeyboardInterrupt), committed_as_far_as_done(db):
        db.execute("INSERT INTO saved VALUES (1)")
        raise KeyboardInterrupt
    assert not db.conn.in_transaction
    reopened = sqlite_utils.Database(tmp_path / "index.db")
    assert reopened.execute("SELECT n FROM saved").fetchall() == [(1,)]
