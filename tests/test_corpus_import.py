"""Importing the whole real corpus, images served by the fake WeChat: once per article, each
image stored once, and a second import changes nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harvester.seedfile import parse_seed

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mp_duty"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/mp_duty is not present"),
]


def run_import(files: list[Path], archive: Path, relay: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HARVESTER_RELAY": relay,
        "HARVESTER_RATE": "1000",
        "HARVESTER_BACKOFF": "0.001",
        "HARVESTER_PROGRESS_SECONDS": "86400",  # a slow machine's progress line is no failure
    }
    command = [sys.executable, "-m", "harvester.cli", "import", "--archive", str(archive)]
    return subprocess.run([*command, *map(str, files)], env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from fakewechat import FakeWeChat

    files = sorted(CORPUS.glob("[0-9a-f]*.md"))
    archive = tmp_path_factory.mktemp("corpus") / "archive"
    with FakeWeChat() as fake:
        fake.auto_images = True
        first = run_import(files, archive, fake.relay_env())
        md_times = {p: p.stat().st_mtime_ns for p in archive.rglob("*.md")}
        missing = {
            url
            for (url,) in sqlite3.connect(archive / "archive.db").execute(
                "SELECT url FROM article_images WHERE status = 'missing'"
            )
        }
        fake.clear_requests()
        second = run_import(files, archive, fake.relay_env())
        asked = set(fake.paths())
    return files, archive, first, second, md_times, missing, asked


def test_corpus_import_makes_one_article_per_distinct_article(imported):
    files, archive, first, _, _, _, _ = imported
    pages = [parse_seed(f.read_text(encoding="utf-8")) for f in files]
    keys = {page.key for page in pages if page.kind == "article"}
    # 1: the corpus holds one bare link, which import names and cannot archive
    assert first.returncode == 1, first.stderr
    [(bare, link)] = [
        (f, page.url or page.short_url)
        for f in files
        if (page := parse_seed(f.read_text(encoding="utf-8"))).kind == "link"
    ]
    assert first.stderr == (
        f"harvester: {bare}: a bare link to {link}, never fetched; run harvester fetch on it\n"
    )
    db = sqlite3.connect(archive / "archive.db")
    assert {key for (key,) in db.execute("SELECT key FROM articles")} == keys
    assert len(list((archive / "articles").rglob("*.md"))) == len(keys)


def test_corpus_import_stores_each_image_once(imported):
    _, archive, _, _, _, _, _ = imported
    db = sqlite3.connect(archive / "archive.db")
    used = db.execute("SELECT count(DISTINCT sha256) FROM article_images WHERE status = 'ok'")
    assert db.execute("SELECT count(*) FROM images").fetchone() == used.fetchone()
    stored = list((archive / "images").rglob("*.*"))
    assert len(stored) == db.execute("SELECT count(*) FROM images").fetchone()[0]
    assert len({path.stem for path in stored}) == len(stored)


def test_corpus_import_again_changes_nothing(imported):
    _, archive, _, second, md_times, missing, asked = imported
    assert second.returncode == 1, second.stderr
    db = sqlite3.connect(archive / "archive.db")
    [(still_missing,)] = db.execute("SELECT count(*) FROM article_images WHERE status = 'missing'")
    assert second.stdout.startswith(
        "0 new, 0 updated, 528 unchanged, 0 deleted, 1 failed; "
        f"images: 0 stored, {still_missing} missing"
    )
    assert {p: p.stat().st_mtime_ns for p in archive.rglob("*.md")} == md_times
    retried = {url.split("://", 1)[1].split("/", 1)[1] for url in missing}
    assert {path.lstrip("/") for path in asked} <= retried
