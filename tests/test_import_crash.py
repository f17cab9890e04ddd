"""Killing `harvester import` at random moments never corrupts or duplicates the archive."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakewechat import FakeWeChat

ARTICLES = 200
REPO = Path(__file__).resolve().parents[1]


def image_url(name: str) -> str:
    return f"https://mmbiz.qpic.cn/mmbiz_jpg/{name}/640?wx_fmt=jpeg"


def write_seeds(folder: Path, fake: FakeWeChat) -> None:
    folder.mkdir()
    for number in range(ARTICLES):
        names = (f"own{number}", f"shared{number % 7}")
        for name in names:
            fake.add_image(image_url(name), fmt="jpeg")
        images = "".join(f'<p><img data-src="{image_url(n)}"></p>' for n in names)
        (folder / f"{number:03d}.md").write_text(
            f'---\ntitle: "第{number}篇"\ndate: 2026-01-26T00:00:16Z\ndraft: ["false"]\n'
            f'tags: ["fetched", "账号{number % 5}"]\ncategories: ["Acdemic"]\n---\n'
            f"第{number}篇 by 账号{number % 5}\n------\n"
            f"<div><p><span leaf>正文{number}。</span></p>{images}</div>\n"
            f'<hr>\n<a href="https://mp.weixin.qq.com/s/seed{number:03d}",target="_blank">'
            "原文链接</a>\n",
            encoding="utf-8",
        )


def run_import(seeds: Path, archive: Path, env: dict[str, str], kill_after: float | None) -> int:
    command = [sys.executable, "-c", "from harvester.cli import main; main()", "import"]
    process = subprocess.Popen(
        [*command, str(seeds), "--archive", str(archive)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if kill_after is None:
        return process.wait(timeout=120)
    try:
        return process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        return process.wait()


@pytest.mark.slow
def test_import_killed_at_random_moments_ends_with_each_article_once(fake_wechat, tmp_path):
    seeds, archive = tmp_path / "seeds", tmp_path / "archive"
    write_seeds(seeds, fake_wechat)
    # Slow answers stretch an uninterrupted import to about 11 s here, so three kills
    # of at most 3 s each cannot outrun it however fast the conversion gets.
    fake_wechat.latency = 0.05
    env = {
        **os.environ,
        "HARVESTER_RELAY": fake_wechat.relay_env(),
        "HARVESTER_RATE": "1000",
        "HARVESTER_BACKOFF": "0.001",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    rng = random.Random(20261127)
    kills = 0
    started = time.monotonic()
    while kills < 6 and time.monotonic() - started < 60:
        if run_import(seeds, archive, env, rng.uniform(0.8, 3.0)) == -signal.SIGKILL:
            kills += 1
        else:
            break
    assert run_import(seeds, archive, env, None) == 0
    assert kills >= 3

    db = sqlite3.connect(archive / "archive.db")
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    keys = [key for (key,) in db.execute("SELECT key FROM articles")]
    assert sorted(keys) == [f"s:seed{n:03d}" for n in range(ARTICLES)]
    md_paths = dict(db.execute("SELECT key, md_path FROM articles"))
    on_disk = sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*.md"))
    assert on_disk == sorted(md_paths.values())
    for key, path in md_paths.items():
        footer = f"[原文链接](https://mp.weixin.qq.com/s/{key[2:]})\n"
        assert (archive / path).read_text(encoding="utf-8").endswith(footer)
    for sha, path in db.execute("SELECT sha256, path FROM images"):
        assert hashlib.sha256((archive / path).read_bytes()).hexdigest() == sha
    assert db.execute("SELECT count(*) FROM images").fetchone() == (ARTICLES + 7,)
    assert db.execute("SELECT count(*) FROM article_images WHERE status != 'ok'").fetchone() == (0,)
    # A kill during interpreter start-up comes before the run is recorded.
    [(interrupted,)] = db.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL")
    assert 1 <= interrupted <= kills


def children_of(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.add(int(stat.parent.name))
    return children


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_the_workers_of_a_killed_import_leave_too(fake_wechat, tmp_path):
    seeds, archive = tmp_path / "seeds", tmp_path / "archive"
    write_seeds(seeds, fake_wechat)
    fake_wechat.latency = 0.05
    env = {**os.environ, "HARVESTER_RELAY": fake_wechat.relay_env(), "HARVESTER_RATE": "1000"}
    command = [sys.executable, "-c", "from harvester.cli import main; main()", "import"]
    process = subprocess.Popen(
        [*command, str(seeds), "--archive", str(archive)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (workers := children_of(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers, "the import started no worker processes"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in workers if alive(pid)] == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_import_says_what_was_kept_and_records_the_run(
    fake_wechat, tmp_path, signum
):
    seeds, archive = tmp_path / "seeds", tmp_path / "archive"
    write_seeds(seeds, fake_wechat)
    fake_wechat.latency = 0.05
    env = {
        **os.environ,
        "HARVESTER_RELAY": fake_wechat.relay_env(),
        "HARVESTER_RATE": "1000",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-c", "from harvester.cli import main; main()", "import"]
    process = subprocess.Popen(
        [*command, str(seeds), "--archive", str(archive)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    db_path = archive / "archive.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not archived(db_path):
        time.sleep(0.1)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    db = sqlite3.connect(db_path)
    [(kept,)] = db.execute("SELECT count(*) FROM articles")
    assert 0 < kept < ARTICLES
    assert err.strip().splitlines()[-1] == (
        f"harvester: interrupted: {kept} articles archived, the rest not started"
    )
    [(outcome, message)] = db.execute("SELECT outcome, message FROM runs")
    assert (outcome, message) == ("interrupted", "interrupted by a signal")


def archived(db_path: Path) -> int:
    """How many articles a running import has committed (0 before its index exists)."""
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path, timeout=1) as db:
            return db.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
