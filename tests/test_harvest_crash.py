"""A harvest of 300 articles killed with SIGKILL at random moments, re-run until it is done.

The harvest runs as a real subprocess (`python -c "from harvester.cli import main; main()"`)
against the fake WeChat in this process. Every kill must leave an archive the next run can
finish: each article archived exactly once, no file lost, duplicated or half written, the
database intact, and the runs table telling of every run that was killed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakewechat import FakeWeChat, album_item, make_article_html

REPO = Path(__file__).resolve().parents[1]
BIZ = "MzkxMTAwMDAwMQ=="
SN = "0123456789abcdef0123456789abcdef"
CT = 1767225600
ALBUM_ID = "9001"
PER_SOURCE = 100
KILLS = 6
SEED = 20260101


def image_url(name: str) -> str:
    return f"https://mmbiz.qpic.cn/mmbiz_png/{name}/640?wx_fmt=png&from=appmsg"


def build_site(fake: FakeWeChat, folder: Path) -> Path:
    """100 articles in a links file, 100 in an album, 100 seed files; images throughout."""
    fake.add_image(image_url("shared"))
    links = []
    for n in range(PER_SOURCE):
        mid = 10000 + n
        urls = [image_url(f"u{n}"), image_url("shared")]
        fake.add_image(urls[0])
        page = make_article_html(
            f"链接{n}", "神经科学", BIZ, mid, 1, SN, CT + n, "<p>正文</p>", urls
        )
        links.append(fake.add_article(BIZ, mid, 1, SN, page))
    (folder / "links.txt").write_text("\n".join(links) + "\n", encoding="utf-8")
    items = []
    for n in range(PER_SOURCE):
        mid = 20000 + n
        urls = [image_url(f"a{n}")]
        fake.add_image(urls[0])
        page = make_article_html(
            f"合集{n}", "神经科学", BIZ, mid, 1, SN, CT + n, "<p>正文</p>", urls
        )
        fake.add_article(BIZ, mid, 1, SN, page)
        items.append(album_item(f"合集{n}", BIZ, mid, 1, SN, CT + n))
    fake.add_album(BIZ, ALBUM_ID, items)
    seeds = folder / "seeds"
    seeds.mkdir()
    for n in range(PER_SOURCE):
        fake.add_image(image_url(f"s{n}"))
        img = image_url(f"s{n}")
        (seeds / f"Seed{n:03d}.md").write_text(
            f'---\ntitle: "种子{n}"\ndate: 2026-01-26T00:00:16Z\ndraft: ["false"]\n'
            f'tags: ["fetched", "神经科学"]\ncategories: ["Acdemic"]\n---\n'
            f"种子{n} by 神经科学\n------\n"
            f'<div><p>种子{n}的正文。</p><p><img data-src="{img}" src="{img}"></p></div>\n'
            f'<hr>\n<a href="https://mp.weixin.qq.com/s/Seed{n:03d}",target="_blank" '
            f'rel="noopener noreferrer">原文链接</a>\n',
            encoding="utf-8",
        )
    config = folder / "harvester.toml"
    config.write_text(
        'archive = "archive"\n'
        "[politeness]\nrequests_per_second = 1000\nconcurrency = 4\njitter = 0\n"
        "retry_backoff_seconds = 0.001\ntimeout_seconds = 5\n"
        '[[sources]]\nkind = "urls"\npath = "links.txt"\n'
        f'[[sources]]\nkind = "album"\nurl = "https://mp.weixin.qq.com/mp/appmsgalbum?'
        f'__biz={BIZ}&action=getalbum&album_id={ALBUM_ID}"\n'
        '[[sources]]\nkind = "seed"\npath = "seeds"\n',
        encoding="utf-8",
    )
    return config


def start(config: Path, fake: FakeWeChat) -> subprocess.Popen:
    env = {
        **os.environ,
        "HARVESTER_RELAY": fake.relay_env(),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.pop("HARVESTER_ARCHIVE", None)
    env.pop("HARVESTER_CONFIG", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from harvester.cli import main; main()",
            "harvest",
            "--config",
            str(config),
            "--json",
        ],
        cwd=config.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_when(process: subprocess.Popen, ready, deadline: float) -> bool:
    """SIGKILL `process` once `ready()` is true; False if it ended by itself first."""
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return True


def rows(db_path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def left_running(db_path: Path) -> set[int]:
    """The runs a kill left `running`: none when it came before the first migration made
    the runs table (the file exists from the moment SQLite opens it)."""
    if not rows(db_path, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'"):
        return set()
    return {r[0] for r in rows(db_path, "SELECT id FROM runs WHERE outcome = 'running'")}


@pytest.mark.slow
def test_harvest_killed_at_random_moments_archives_every_article_exactly_once(
    fake_wechat: FakeWeChat, tmp_path: Path
):
    fake_wechat.latency = 0.002  # room for kills to land in the middle of things
    config = build_site(fake_wechat, tmp_path)
    root = tmp_path / "archive"
    db_path = root / "archive.db"
    rng = random.Random(SEED)
    began = time.monotonic()

    killed_runs: set[int] = set()
    kills = 0
    for round_number in range(KILLS):
        process = start(config, fake_wechat)
        seen = len(fake_wechat.requests)
        if round_number == 0:
            # Early: during start-up, the database migration or the first listings.
            delay = rng.uniform(0.3, 0.9)
            moment = time.monotonic() + delay
            ready = lambda moment=moment: time.monotonic() >= moment  # noqa: E731
        else:
            target = seen + rng.randint(3 if round_number == 1 else 20, 160)
            ready = lambda target=target: len(fake_wechat.requests) >= target  # noqa: E731
        if not kill_when(process, ready, time.monotonic() + 30):
            break
        kills += 1
        if db_path.exists():
            killed_runs |= left_running(db_path)

    final = None
    for _ in range(10):
        process = start(config, fake_wechat)
        out, err = process.communicate(timeout=60)
        final = (process.returncode, out.decode(), err.decode())
        if process.returncode == 0:
            break
    assert final is not None and final[0] == 0, final
    assert final[2] == ""
    assert kills >= 4, "the kills should land while the harvest is still running"
    assert time.monotonic() - began < 90

    # Every article archived exactly once.
    assert rows(db_path, "SELECT count(*), count(DISTINCT key) FROM articles") == [(300, 300)]
    assert rows(db_path, "SELECT count(*) FROM revisions") == [(300,)]
    assert rows(db_path, "SELECT change, count(*) FROM revisions GROUP BY change") == [("new", 300)]
    assert rows(db_path, "SELECT state, count(*) FROM queue GROUP BY state") == [("done", 300)]
    # One Markdown file per article, each complete, none left over.
    md_paths = {r[0] for r in rows(db_path, "SELECT md_path FROM articles")}
    on_disk = {
        p.relative_to(root).as_posix()
        for p in (root / "articles").rglob("*")
        if p.is_file() and not p.name.startswith(".tmp-")
    }
    assert len(md_paths) == 300
    assert on_disk == md_paths
    for relpath in md_paths:
        text = (root / relpath).read_text(encoding="utf-8")
        assert text.startswith("---\n") and text.rstrip().endswith(")"), relpath
        assert "[原文链接](" in text, relpath
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
            assert (root / relpath).parent.joinpath(target).resolve().is_file(), target
    # Images: each stored once under its hash, every reference resolves, none missing.
    image_rows = rows(db_path, "SELECT sha256, path FROM images")
    assert len(image_rows) == 301  # 100 + 100 + 100 own images, one shared
    for sha, relpath in image_rows:
        assert hashlib.sha256((root / relpath).read_bytes()).hexdigest() == sha
    stored = {
        p.relative_to(root).as_posix()
        for p in (root / "images").rglob("*")
        if p.is_file() and not p.name.startswith(".tmp-")
    }
    assert stored == {relpath for _, relpath in image_rows}
    assert rows(db_path, "SELECT status, count(*) FROM article_images GROUP BY status") == [
        ("ok", 400)
    ]
    # Raw pages: every one referenced exists and is a whole gzip stream.
    for (relpath,) in rows(db_path, "SELECT raw_path FROM articles"):
        assert gzip.decompress((root / relpath).read_bytes())
    # The database itself.
    assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db_path, "PRAGMA foreign_key_check") == []
    # The runs table tells of every killed run, and of the run that finished.
    runs = rows(db_path, "SELECT id, outcome FROM runs ORDER BY id")
    assert {run_id for run_id, outcome in runs if outcome == "interrupted"} == killed_runs
    assert len(killed_runs) >= 3
    assert runs[-1][1] == "ok"
    assert "running" not in {outcome for _, outcome in runs}
    assert json.loads(final[1])["outcome"] == "ok"
