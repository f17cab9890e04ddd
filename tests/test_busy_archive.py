"""Commands writing one archive at once wait their turn (issue 11, item 7).

Real processes: a small Python helper holds a write transaction on archive.db (BEGIN
IMMEDIATE, as another harvester command's would), and the command under test runs beside
it. Within the busy timeout (HARVESTER_BUSY_SECONDS, 60 s unless set) a command waits and
succeeds; past it, it says so in one line and exits 75, and a harvest still prints its
JSON and records the run as `busy`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from archive_builder import HARVESTER, harvester
from test_archiving import add_article, image_url, seed_file

from archive.index import open_index

HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("CREATE TABLE IF NOT EXISTS held (n INTEGER)")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


@contextlib.contextmanager
def writer_holding(archive: Path, seconds: float) -> Iterator[subprocess.Popen]:
    """Another process in a write transaction on the archive for `seconds` from now."""
    open_index(archive / "archive.db").close()
    helper = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(archive / "archive.db"), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert helper.stdout is not None and helper.stdout.readline() == "holding\n"
        yield helper
    finally:
        helper.kill()
        helper.wait()


def busy_line(archive: Path, seconds: int) -> str:
    return (
        f"{archive / 'archive.db'} is busy: another command has been writing to it for over "
        f"{seconds} s; try later"
    )


def runs(archive: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(archive / "archive.db")) as db:
        return db.execute("SELECT id, command, outcome, message FROM runs ORDER BY id").fetchall()


def test_a_fetch_started_while_another_command_writes_waits_its_turn(served, archive):
    url = add_article(served, 300, images=())
    with writer_holding(archive, 2.0) as helper:
        done = harvester("fetch", url, "--archive", str(archive))
        assert helper.poll() == 0  # it finished its transaction first
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("1 new, 0 updated")


def test_a_fetch_that_cannot_get_the_archive_says_try_later_and_exits_75(
    served, archive, monkeypatch
):
    monkeypatch.setenv("HARVESTER_BUSY_SECONDS", "1")
    url = add_article(served, 301, images=())
    with writer_holding(archive, 30.0):
        started = time.monotonic()
        done = harvester("fetch", url, "--archive", str(archive))
        elapsed = time.monotonic() - started
    assert (done.returncode, done.stderr) == (75, f"harvester: {busy_line(archive, 1)}\n")
    assert elapsed < 25  # gave up; never waited for the writer to finish


def test_a_harvest_that_cannot_get_the_archive_prints_its_json_and_records_a_busy_run(
    archive, tmp_path, monkeypatch
):
    monkeypatch.setenv("HARVESTER_BUSY_SECONDS", "1")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    seed_file(seeds, "忙时", "BUSY01", ())
    config = tmp_path / "harvester.toml"
    config.write_text(f'[[sources]]\nkind = "seed"\npath = "{seeds}"\n', encoding="utf-8")
    # The harvest gives up after a second; recording its run waits (up to 10 s more) for
    # the writer, which ends after 6.
    with writer_holding(archive, 6.0):
        done = harvester("harvest", "--config", str(config), "--archive", str(archive), "--json")
    line = busy_line(archive, 1)
    assert (done.returncode, done.stderr) == (75, f"harvester: {line}\n")
    report = json.loads(done.stdout)
    assert report == {"exit_code": 75, "message": line, "outcome": "busy", "run_id": 1}
    assert runs(archive) == [(1, "harvest", "busy", line)]


def test_an_import_downloading_images_lets_other_commands_write_meanwhile(
    served, archive, tmp_path, monkeypatch
):
    monkeypatch.setenv("HARVESTER_BUSY_SECONDS", "1")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    seed_file(seeds, "A先存", "IMGA01", ())  # saved first, in the batch still open
    served.add_image(image_url("slow"))
    seed_file(seeds, "B慢图", "IMGB02", ("slow",))
    served.fault("/mmbiz_png/slow/", "slow", seconds=6.0)
    url = add_article(served, 302, images=())
    open_index(archive / "archive.db").close()
    importing = subprocess.Popen(
        [*HARVESTER, "import", str(seeds), "--archive", str(archive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not any("/mmbiz_png/slow/" in path for path in served.paths()):
            assert time.monotonic() < deadline and importing.poll() is None
            time.sleep(0.05)
        fetched = harvester("fetch", url, "--archive", str(archive))
        assert importing.poll() is None  # still waiting for its image
        out, err = importing.communicate(timeout=60)
    finally:
        importing.kill()
        importing.wait()
    assert (fetched.returncode, fetched.stderr) == (0, "")
    assert (importing.returncode, err) == (0, "")
    assert out.startswith("2 new, 0 updated")


def test_an_import_that_finds_the_archive_busy_after_a_download_stops_with_try_later(
    served, archive, tmp_path, monkeypatch
):
    monkeypatch.setenv("HARVESTER_BUSY_SECONDS", "1")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    seed_file(seeds, "A先存", "IMGC01", ())  # committed before B's image downloads
    served.add_image(image_url("late"))
    seed_file(seeds, "B晚图", "IMGD02", ("late",))
    served.fault("/mmbiz_png/late/", "slow", seconds=5.0)
    open_index(archive / "archive.db").close()
    importing = subprocess.Popen(
        [*HARVESTER, "import", str(seeds), "--archive", str(archive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not any("/mmbiz_png/late/" in path for path in served.paths()):
            assert time.monotonic() < deadline and importing.poll() is None
            time.sleep(0.05)
        # Still writing when B is to be saved (after 5 s), done before recording the run
        # as busy has waited its 10 s more.
        with writer_holding(archive, 9.0):
            out, err = importing.communicate(timeout=60)
    finally:
        importing.kill()
        importing.wait()
    # The archive's failure, not B's: no "B: failed: IndexBusy" line, no summary.
    line = busy_line(archive, 1)
    assert (importing.returncode, out, err) == (75, "", f"harvester: {line}\n")
    assert runs(archive) == [(1, "import", "busy", line)]
    with contextlib.closing(sqlite3.connect(archive / "archive.db")) as db:
        assert db.execute("SELECT title FROM articles").fetchall() == [("A先存",)]


@pytest.mark.parametrize(
    ("value", "problem"), [("0", "must be a number greater than 0"), ("soon", "not a number")]
)
def test_a_busy_timeout_that_is_not_a_positive_number_is_a_usage_error(
    archive, monkeypatch, value, problem
):
    open_index(archive / "archive.db").close()
    monkeypatch.setenv("HARVESTER_BUSY_SECONDS", value)
    done = harvester("rebuild", "--archive", str(archive))
    assert (done.returncode, done.stderr) == (
        2,
        f"harvester: HARVESTER_BUSY_SECONDS={value!r}: {problem}\n",
    )
