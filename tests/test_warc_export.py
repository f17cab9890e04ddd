"""`harvester export warc` and `export wacz`: the archive's raw captures and images as a
WARC file, and the same packaged as WACZ.

A real archive is made through the command line from the fake WeChat on loopback (one
article fetched, then fetched again after an edit: two revisions; a saved page imported
from a file), exported, read back with warcio's ArchiveIterator and `warcio check`, and
replayed by pywb: a real `wayback` process on loopback with a collection built by
`wb-manager` from the file, the article read in headless Chromium with its images and
nothing requested from anywhere else. The WACZ is validated by py-wacz (`wacz validate`),
holds the same records, lists each capture as a page, and replays the same way once
`wb-manager add --unpack-wacz` has taken it in.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from archive_builder import HARVESTER, free_port
from fakewechat import FakeWeChat, make_article_html
from warcio.archiveiterator import ArchiveIterator

BIZ = "MzkxMTAwMDAwMQ=="
SN = "0123456789abcdef0123456789abcdef"
CT = 1767225600  # 2026-01-01 08:00 China time
TITLE = "神经修复与再生"
IMAGES = [f"https://mmbiz.qpic.cn/mmbiz_png/warc{n}/640?wx_fmt=png&from=appmsg" for n in (1, 2)]
SAVED_IMAGE = "https://mmbiz.qpic.cn/mmbiz_png/saved/640?wx_fmt=png"
BIN = Path(sys.executable).parent
REPLAY_SCRIPT = Path(__file__).resolve().parent.parent / "archive" / "replay" / "wechat-replay.js"


def page_html(body: str, *, mid: int = 100, account: str = "神经科学", images=IMAGES) -> str:
    return make_article_html(TITLE, account, BIZ, mid, 1, SN, CT, body, images)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HARVESTER, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


class Built:
    """The archive the tests export, and what was served to make it."""

    def __init__(self, root: Path, url: str, images: dict[str, bytes], saved: Path) -> None:
        self.root, self.url, self.images, self.saved = root, url, images, saved

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.root / "archive.db") as db:
            return db.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("warc")
    root = folder / "archive"
    with FakeWeChat() as fake:
        images = {url: fake.add_image(url) for url in [*IMAGES, SAVED_IMAGE]}
        url = fake.add_article(
            BIZ, 100, 1, SN, page_html("<p><span leaf>神经再生很复杂。</span></p>")
        )
        env = dict(
            os.environ,
            HARVESTER_RELAY=fake.relay_env(),
            HARVESTER_RATE="1000",
            HARVESTER_BACKOFF="0.001",
        )
        assert run("fetch", url, "--archive", str(root), env=env).returncode == 0
        time.sleep(1.1)  # the next capture is another second: another raw file
        fake.add_article(BIZ, 100, 1, SN, page_html("<p><span leaf>神经再生很漫长。</span></p>"))
        assert run("fetch", url, "--refresh", "--archive", str(root), env=env).returncode == 0
        saved = folder / "saved.html"
        saved_page = page_html(
            "<p>另一个账号</p>", mid=200, account="BrainLab", images=[SAVED_IMAGE]
        )
        saved.write_text(saved_page, encoding="utf-8")
        assert run("import", str(saved), "--archive", str(root), env=env).returncode == 0
    return Built(root, url, images, saved)


def test_a_fetch_keeps_the_final_url_status_and_headers_beside_its_raw_capture(tmp_path):
    root = tmp_path / "archive"
    with FakeWeChat() as fake:
        for url in IMAGES:
            fake.add_image(url)
        page = page_html("<p>短链接</p>", mid=300)
        long_url = fake.add_article(BIZ, 300, 1, SN, page, "ShortId300", short_redirect=True)
        env = dict(
            os.environ,
            HARVESTER_RELAY=fake.relay_env(),
            HARVESTER_RATE="1000",
            HARVESTER_BACKOFF="0.001",
        )
        short = "https://mp.weixin.qq.com/s/ShortId300"
        assert run("fetch", short, "--archive", str(root), env=env).returncode == 0
        assert run("fetch", short, "--refresh", "--archive", str(root), env=env).returncode == 0
    with sqlite3.connect(root / "archive.db") as db:
        rows = db.execute("SELECT raw_path, url, status, headers FROM capture_responses").fetchall()
        [(raw_path,)] = db.execute("SELECT raw_path FROM articles").fetchall()
    [(kept_for, url, status, headers)] = rows  # the unchanged second fetch stored nothing
    assert (kept_for, url, status) == (raw_path, long_url, 200)
    assert ["content-type", "text/html; charset=UTF-8"] in json.loads(headers)


def export(built: Built, out: Path, *args: str) -> subprocess.CompletedProcess:
    return run("export", "warc", str(out), "--archive", str(built.root), *args)


def records(path: Path) -> list[dict]:
    found = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            http = record.http_headers
            found.append(
                {
                    "type": record.rec_type,
                    "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "date": record.rec_headers.get_header("WARC-Date"),
                    "content_type": record.rec_headers.get_header("Content-Type"),
                    "status": http.get_statuscode() if http else None,
                    "headers": dict(http.headers) if http else None,
                    "payload": record.content_stream().read(),
                }
            )
    return found


@pytest.fixture(scope="module")
def warc(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "wechat.warc.gz"
    done = export(built, out)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == (f"3 captures (1 without a recorded HTTP answer), 3 images → {out}\n")
    return out


def test_the_warc_opens_with_a_warcinfo_record_naming_the_program(warc):
    first = records(warc)[0]
    assert first["type"] == "warcinfo"
    assert b"software: wechat-archive " in first["payload"]


def test_each_fetched_revision_is_a_response_at_its_fetch_time(built, warc):
    stored = built.rows(
        "SELECT url, fetched_at, raw_path FROM capture_responses ORDER BY fetched_at"
    )
    responses = [r for r in records(warc) if r["type"] == "response" and "mp.weixin" in r["uri"]]
    assert [(r["uri"], r["date"]) for r in responses] == [
        (url, at.replace("+00:00", "Z")) for url, at, _ in stored
    ]
    assert [r["payload"] for r in responses] == [
        gzip.decompress((built.root / raw_path).read_bytes()) for _, _, raw_path in stored
    ]
    assert "神经再生很复杂" in responses[0]["payload"].decode()
    assert "神经再生很漫长" in responses[1]["payload"].decode()


def test_a_response_carries_the_status_and_headers_recorded_at_fetch_time(built, warc):
    [(headers,)] = built.rows("SELECT headers FROM capture_responses LIMIT 1")
    recorded = dict(json.loads(headers))
    response = next(r for r in records(warc) if r["type"] == "response")
    assert response["status"] == "200"
    assert response["headers"]["content-type"] == recorded["content-type"]
    assert response["headers"]["set-cookie"] == recorded["set-cookie"]
    assert response["headers"]["Content-Length"] == str(len(response["payload"]))


def test_a_capture_read_from_a_file_is_a_resource_record_at_the_article_link(built, warc):
    [resource] = [r for r in records(warc) if r["type"] == "resource"]
    assert resource["uri"] == (f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=200&idx=1&sn={SN}")
    assert resource["content_type"] == "text/html; charset=utf-8"
    assert resource["payload"] == built.saved.read_bytes()


def test_each_image_is_a_response_at_its_original_url_with_its_bytes(built, warc):
    images = [r for r in records(warc) if r["type"] == "response" and "mmbiz" in r["uri"]]
    assert sorted(r["uri"] for r in images) == sorted(built.images)
    for record in images:
        assert record["payload"] == built.images[record["uri"]]
        assert record["headers"]["Content-Type"] == "image/png"


def test_warcio_check_finds_every_digest_right(warc):
    done = subprocess.run(
        [str(BIN / "warcio"), "check", "-v", str(warc)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("digest pass") == 7  # warcinfo, 3 captures, 3 images


def test_account_selects_that_accounts_captures_and_images(built, tmp_path):
    out = tmp_path / "brainlab.warc.gz"
    done = export(built, out, "--account", "BrainLab")
    assert (done.returncode, done.stderr) == (0, "")
    assert [(r["type"], r["uri"]) for r in records(out)[1:]] == [
        ("resource", f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=200&idx=1&sn={SN}"),
        ("response", SAVED_IMAGE),
    ]


def test_since_selects_the_captures_made_from_then_on(built, tmp_path):
    [(second,)] = built.rows(
        "SELECT fetched_at FROM capture_responses ORDER BY fetched_at DESC LIMIT 1"
    )
    out = tmp_path / "since.warc.gz"
    done = export(built, out, "--since", second, "--account", "神经科学")
    assert (done.returncode, done.stderr) == (0, "")
    pages = [r for r in records(out) if r["uri"] and "mp.weixin" in r["uri"]]
    assert [r["date"] for r in pages] == [second.replace("+00:00", "Z")]


def test_a_selection_with_no_captures_writes_nothing_and_exits_2(built, tmp_path):
    out = tmp_path / "none.warc.gz"
    done = export(built, out, "--account", "无此账号")
    assert done.returncode == 2
    assert (
        done.stderr == f"harvester: {built.root}: no archived captures of the account '无此账号'\n"
    )
    assert not out.exists()


def test_a_raw_capture_gone_from_the_archive_is_named_and_the_rest_exported(built, tmp_path):
    copy = tmp_path / "archive"
    shutil.copytree(built.root, copy)
    [(raw_path,)] = built.rows("SELECT raw_path FROM capture_responses ORDER BY fetched_at LIMIT 1")
    (copy / raw_path).unlink()
    out = tmp_path / "part.warc.gz"
    done = run("export", "warc", str(out), "--archive", str(copy))
    assert done.returncode == 1
    assert done.stderr == (
        f"harvester: {raw_path}: cannot read: No such file or directory; not exported\n"
    )
    assert done.stdout == (
        f"2 captures (1 without a recorded HTTP answer), 3 images, 1 failed → {out}\n"
    )
    assert len([r for r in records(out) if r["type"] in ("response", "resource")]) == 5


def test_a_since_that_is_no_date_exits_2(built, tmp_path):
    done = export(built, tmp_path / "x.warc.gz", "--since", "yesterday")
    assert done.returncode == 2
    assert done.stderr == (
        "harvester: --since 'yesterday': not a date or time (2026-11-01, 2026-11-01T08:00)\n"
    )


# --------------------------------------------------------------------------- WACZ


@pytest.fixture(scope="module")
def wacz(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "wechat.wacz"
    done = run("export", "wacz", str(out), "--archive", str(built.root))
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == f"3 captures (1 without a recorded HTTP answer), 3 images → {out}\n"
    return out


def test_py_wacz_validates_the_wacz(wacz):
    done = subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True
    )
    assert "Validation succeeded, the passed WACZ is valid" in done.stdout, done.stdout
    assert done.returncode == 0


def test_the_wacz_holds_the_warcs_records_and_its_index(wacz, warc, tmp_path):
    with zipfile.ZipFile(wacz) as package:
        names = set(package.namelist())
        (tmp_path / "inner.warc.gz").write_bytes(package.read("archive/data.warc.gz"))
    assert {"datapackage.json", "datapackage-digest.json", "pages/pages.jsonl"} <= names
    assert "indexes/index.cdx.gz" in names
    inner = [
        (r["type"], r["uri"], r["date"], r["payload"]) for r in records(tmp_path / "inner.warc.gz")
    ]
    outer = [(r["type"], r["uri"], r["date"], r["payload"]) for r in records(warc)]
    assert inner[1:] == outer[1:]  # all but the warcinfo, which names its file


def test_the_wacz_lists_every_capture_as_a_page_with_its_title_and_time(built, wacz):
    with zipfile.ZipFile(wacz) as package:
        lines = package.read("pages/pages.jsonl").decode().splitlines()
    header, *pages = map(json.loads, lines)
    assert header == {"format": "json-pages-1.0", "id": "pages", "title": "Articles"}
    fetched = built.rows("SELECT url, fetched_at FROM capture_responses ORDER BY fetched_at")
    saved = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=200&idx=1&sn={SN}"
    assert sorted((page["url"], page["title"]) for page in pages) == sorted(
        [(url, TITLE) for url, _ in fetched] + [(saved, TITLE)]
    )
    assert [page["ts"] for page in pages if page["url"] == built.url] == [
        at.replace("+00:00", "Z") for _, at in fetched
    ]


# --------------------------------------------------------------------------- pywb replay

CHROMIUM = Path("/usr/bin/chromium")


@contextlib.contextmanager
def running_wayback(home: Path, export: Path, *add_options: str):
    """pywb serving a collection built from `export` with wb-manager, on loopback."""
    if not (BIN / "wayback").exists():
        pytest.skip("pywb is not installed (pip install -e '.[test]')")
    for args in (["init", "wechat"], ["add", *add_options, "wechat", str(export)]):
        done = subprocess.run([str(BIN / "wb-manager"), *args], cwd=home, capture_output=True)
        assert done.returncode == 0, done.stderr
    shutil.copy(REPLAY_SCRIPT, home / "collections" / "wechat" / "static")
    (home / "config.yaml").write_text(
        "framed_replay: false\ninject_scripts:\n  - _/wechat/wechat-replay.js\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "wayback"), "--bind", "127.0.0.1", "--port", str(port)],
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/wechat/", timeout=2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "no wayback"
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def wayback(warc: Path, tmp_path_factory: pytest.TempPathFactory):
    with running_wayback(tmp_path_factory.mktemp("pywb"), warc) as base:
        yield base


@pytest.fixture(scope="module")
def wayback_wacz(wacz: Path, tmp_path_factory: pytest.TempPathFactory):
    with running_wayback(tmp_path_factory.mktemp("pywb"), wacz, "--unpack-wacz") as base:
        yield base


REPLAYS = ["wayback", "wayback_wacz"]


@pytest.mark.parametrize("replay", REPLAYS)
def test_pywb_serves_each_image_from_the_collection_at_its_original_url(built, replay, request):
    wayback = request.getfixturevalue(replay)
    for url, data in built.images.items():
        with urllib.request.urlopen(f"{wayback}/wechat/2030id_/{url}") as answer:
            assert answer.read() == data


@pytest.mark.parametrize("replay", REPLAYS)
def test_pywb_shows_the_article_with_its_images_and_nothing_from_outside(built, replay, request):
    wayback = request.getfixturevalue(replay)
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{wayback}/wechat/2030/{built.url}", wait_until="load")
            page.wait_for_function(
                "() => [...document.querySelectorAll('#js_content img')]"
                ".every(i => i.complete && i.naturalWidth > 0)",
                timeout=20_000,
            )
            body = page.locator("#js_content")
            assert body.is_visible()
            assert "神经再生很漫长" in body.inner_text()  # the latest revision
            widths = page.evaluate(
                "() => [...document.querySelectorAll('#js_content img')].map(i => i.naturalWidth)"
            )
            assert widths == [64, 64]
        finally:
            browser.close()
    outside = {urlsplit(url).netloc for url in requested} - {urlsplit(wayback).netloc}
    assert outside == set(), requested
