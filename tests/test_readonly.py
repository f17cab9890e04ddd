"""An archive the user cannot write to: every archiving command says so in one line, exit 2,
and changes nothing (issue 12, item 3).

Permissions do not stop root, so when the suite runs as root the commands run as `nobody`
(setpriv), as a cron job of another user would.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

HARVESTER = [sys.executable, "-c", "from harvester.cli import main; main()"]
NOBODY = 65534
LINK = "https://mp.weixin.qq.com/s?__biz=MzkxMTAwMDAwMQ==&mid=2247483800&idx=1&sn=0123456789abcdef0123456789abcdef"
SEED = (
    '---\ntitle: "第一篇"\ndate: 2026-01-26T00:00:16Z\n---\n第一篇 by 神经科学\n------\n'
    "<div><p><span leaf>正文。</span></p></div>  \n<hr>\n"
    '<a href="https://mp.weixin.qq.com/s/RO1111",target="_blank">原文链接</a>\n'
)


def as_another_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop the rights read-only needs")
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*as_another_user(), *HARVESTER, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HARVESTER_RELAY": "mp.weixin.qq.com=http://127.0.0.1:9"},
    )


def make_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) | stat.S_IROTH)
        if path.is_dir():
            path.chmod(path.stat().st_mode | stat.S_IXOTH)


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder other users can read (pytest's tmp_path is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="readonly-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
        shutil.rmtree(folder)


@pytest.fixture
def archive(place: Path) -> Path:
    seed = place / "seed.md"
    seed.write_text(SEED, encoding="utf-8")
    (place / "links.txt").write_text(LINK + "\n", encoding="utf-8")
    (place / "harvester.toml").write_text(
        '[[sources]]\nkind = "urls"\npath = "links.txt"\n', encoding="utf-8"
    )
    root = place / "archive"
    made = subprocess.run(
        [*HARVESTER, "import", str(seed), "--no-images", "--archive", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    make_read_only(place)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "command",
    [
        ["import", "{place}/seed.md"],
        ["fetch", LINK],
        ["rebuild"],
    ],
    ids=["import", "fetch", "rebuild"],
)
def test_an_archiving_command_on_a_read_only_archive_is_one_line_exit_2(archive, place, command):
    before = snapshot(archive)
    args = [part.format(place=place) for part in command]
    done = run(*args, "--archive", str(archive))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"harvester: cannot write to the archive {archive}: read-only (Permission denied)\n"
    )
    assert snapshot(archive) == before


def test_harvest_on_a_read_only_archive_is_one_line_exit_2_and_says_so_in_its_json(archive, place):
    before = snapshot(archive)
    done = run(
        "harvest", "--config", str(place / "harvester.toml"), "--archive", str(archive), "--json"
    )
    message = f"cannot write to the archive {archive}: read-only (Permission denied)"
    assert (done.returncode, done.stderr) == (2, f"harvester: {message}\n")
    assert json.loads(done.stdout) == {
        "outcome": "read-only",
        "exit_code": 2,
        "run_id": None,
        "message": message,
    }
    assert snapshot(archive) == before


def test_an_index_file_the_user_cannot_write_is_named(archive, place):
    archive.chmod(0o777)
    before = snapshot(archive)
    done = run("import", str(place / "seed.md"), "--archive", str(archive))
    assert (done.returncode, done.stderr) == (
        2,
        f"harvester: cannot write to the archive {archive}: read-only "
        "(archive.db: Permission denied)\n",
    )
    assert snapshot(archive) == before
