"""An archive.db that is not a database, and a disk that fills up (issue 11, item 14).

Every command that opens the archive says so in one line (exit 2) and changes nothing;
a full disk stops a run with one line, keeps what was committed before it and leaves the
archive consistent: every row names files that exist, and a run after space is freed
archives the rest.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from archive_builder import free_port, harvester
from test_archiving import seed_file

from archive.index import open_index
from harvester import jobs
from harvester.archiver import Archive
from harvester.errors import EXIT_SOME_FAILED, EXIT_USAGE, DiskFull

GARBAGE = bytes(range(256)) * 64  # no SQLite header: "file is not a database"


def garbage_archive(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "archive.db").write_bytes(GARBAGE)
    return folder


def not_a_database(archive: Path) -> str:
    return (
        f"harvester: {archive / 'archive.db'} is not a SQLite database (file is not a "
        "database); restore it from a backup, or move it away to start a new archive\n"
    )


def commands(archive: Path, tmp_path: Path) -> dict[str, list[str]]:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    seed_file(seeds, "一篇", "GARB01", ())
    config = tmp_path / "harvester.toml"
    config.write_text(f'[[sources]]\nkind = "seed"\npath = "{seeds}"\n', encoding="utf-8")
    at = ["--archive", str(archive)]
    return {
        "import": ["import", str(seeds), "--no-images", *at],
        "fetch": ["fetch", "https://mp.weixin.qq.com/s/GARB01", *at],
        "rebuild": ["rebuild", *at],
        "search": ["search", "神经", *at],
        "export": ["export", "hugo", str(tmp_path / "site"), *at],
        "export warc": ["export", "warc", str(tmp_path / "site" / "out.warc.gz"), *at],
        "export wacz": ["export", "wacz", str(tmp_path / "site" / "out.wacz"), *at],
        "export epub": ["export", "epub", str(tmp_path / "site" / "b.epub"), "--query", "神", *at],
        "accounts": ["accounts", *at],
        "serve": ["serve", "--port", str(free_port()), *at],
    }


COMMANDS = ["import", "fetch", "rebuild", "search", "export", "export warc", "export wacz"]
COMMANDS += ["export epub", "accounts", "serve"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_garbage_archive_db_is_one_line_and_exit_2_and_stays_as_it_was(command, tmp_path):
    archive = garbage_archive(tmp_path / "archive")
    done = harvester(*commands(archive, tmp_path)[command], timeout=30)
    assert (done.returncode, done.stderr, done.stdout) == (2, not_a_database(archive), "")
    assert (archive / "archive.db").read_bytes() == GARBAGE
    assert not (tmp_path / "site").exists()


def test_a_harvest_on_a_garbage_archive_db_says_so_in_its_json(tmp_path):
    archive = garbage_archive(tmp_path / "archive")
    config = tmp_path / "harvester.toml"
    config.write_text(f'[[sources]]\nkind = "seed"\npath = "{tmp_path}"\n', encoding="utf-8")
    done = harvester("harvest", "--config", str(config), "--archive", str(archive), "--json")
    assert (done.returncode, done.stderr) == (2, not_a_database(archive))
    message = not_a_database(archive).removeprefix("harvester: ").rstrip("\n")
    assert done.stdout == (
        f'{{"exit_code": 2, "message": "{message}", "outcome": "bad-archive", "run_id": null}}\n'
    )
    assert (archive / "archive.db").read_bytes() == GARBAGE


# --------------------------------------------------------------------------- a full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs of its own (root may mount one; skipped where that is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill `disk` with one file until at most `leave` bytes are free."""
    filler = disk / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            if free <= leave:
                break
            out.write(b"\0" * min(65536, free - leave))
            out.flush()
    return filler


def incompressible_seeds(folder: Path, count: int, size: int = 120_000) -> Path:
    """Seed files whose body text gzip cannot shrink (each raw page stored is ~`size`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        path = seed_file(folder, f"第{number}篇", f"FULL{number:02d}", ())
        text = "".join(uuid.uuid4().hex for _ in range(size // 32))
        path.write_text(path.read_text("utf-8").replace("的正文。", text), "utf-8")
    return folder


def assert_consistent(archive: Path) -> int:
    """The index is sound and every row's files exist; the number of articles."""
    with contextlib.closing(sqlite3.connect(archive / "archive.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = db.execute("SELECT md_path, raw_path FROM articles").fetchall()
    for md_path, raw_path in rows:
        assert (archive / md_path).is_file() and (archive / raw_path).is_file()
    return len(rows)


def test_import_onto_a_full_disk_commits_nothing_and_says_so(small_disk, tmp_path):
    archive = small_disk / "archive"
    first = seed_file(tmp_path, "已有", "KEEP01", ())
    assert harvester("import", str(first), "--no-images", "--archive", str(archive)).returncode == 0
    filler = fill(small_disk)
    seeds = incompressible_seeds(tmp_path / "seeds", 2)
    done = harvester("import", str(seeds), "--no-images", "--archive", str(archive))
    assert done.returncode == EXIT_USAGE
    assert re.fullmatch(
        rf"harvester: disk full while writing {re.escape(str(archive))}/\S+; nothing "
        r"committed; free space and run again\n",
        done.stderr,
    ), done.stderr
    filler.unlink()
    assert assert_consistent(archive) == 1
    again = harvester("import", str(seeds), "--no-images", "--archive", str(archive))
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout.startswith("2 new, 0 updated")
    assert assert_consistent(archive) == 3


def test_a_disk_filling_up_during_an_import_keeps_the_articles_committed_before_it(
    small_disk, tmp_path, monkeypatch, capsys
):
    from harvester.cli import main

    monkeypatch.setattr(jobs, "COMMIT_EVERY", 1)
    archive = small_disk / "archive"
    seeds = incompressible_seeds(tmp_path / "seeds", 8)
    open_index(archive / "archive.db").close()
    filler = fill(small_disk, leave=700_000)  # room for two or three of the eight
    with pytest.raises(SystemExit) as exited:
        main(["import", str(seeds), "--no-images", "--archive", str(archive)])
    out, err = capsys.readouterr()
    found = re.fullmatch(
        r"harvester: disk full while writing \S+; the (\d+) articles archived before it are "
        r"kept, nothing else committed; free space and run again\n",
        err,
    )
    assert found, err
    assert (exited.value.code, out) == (EXIT_SOME_FAILED, "")
    filler.unlink()
    assert assert_consistent(archive) == int(found[1]) > 0


def test_an_index_with_no_room_rolls_back_the_batch_and_names_the_index(tmp_path):
    seeds = incompressible_seeds(tmp_path / "seeds", 3, size=4000)
    archive = Archive.open(tmp_path / "archive")
    pages = archive.db.execute("PRAGMA page_count").fetchone()[0]
    archive.db.execute(f"PRAGMA max_page_count = {pages}")  # what a full disk does to SQLite
    with pytest.raises(DiskFull) as full:
        jobs.import_paths(archive, None, jobs.source_files([seeds]))
    assert (full.value.target, full.value.kept) == (str(tmp_path / "archive" / "archive.db"), 0)
    archive.close()
    assert assert_consistent(tmp_path / "archive") == 0


def test_the_articles_said_kept_are_the_ones_committed_wherever_the_index_fills_up(tmp_path):
    seeds = incompressible_seeds(tmp_path / "seeds", 3, size=4000)
    for room in range(100):  # pages the index may grow by; SQLite may roll a batch back
        archive = Archive.open(tmp_path / f"archive{room}")
        pages = archive.db.execute("PRAGMA page_count").fetchone()[0]
        archive.db.execute(f"PRAGMA max_page_count = {pages + room}")
        try:
            jobs.import_paths(archive, None, jobs.source_files([seeds]))
        except DiskFull as full:
            kept = full.kept
        else:
            break
        finally:
            archive.close()
        assert assert_consistent(tmp_path / f"archive{room}") == kept, room
    assert assert_consistent(tmp_path / f"archive{room}") == 3


def test_a_harvest_on_a_full_disk_ends_with_the_line_and_its_json(small_disk, tmp_path):
    archive = small_disk / "archive"
    open_index(archive / "archive.db").close()
    seeds = incompressible_seeds(tmp_path / "seeds", 1)
    config = tmp_path / "harvester.toml"
    config.write_text(f'[[sources]]\nkind = "seed"\npath = "{seeds}"\n', encoding="utf-8")
    fill(small_disk)
    done = harvester("harvest", "--config", str(config), "--archive", str(archive), "--json")
    line = (
        f"disk full while writing {archive / 'harvest.lock'}; nothing committed; "
        "free space and run again"
    )
    assert (done.returncode, done.stderr) == (2, f"harvester: {line}\n")
    assert json.loads(done.stdout) == {
        "exit_code": 2,
        "message": line,
        "outcome": "disk-full",
        "run_id": None,
    }
