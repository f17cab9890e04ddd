"""One pipeline: an article archived by `fetch`, by `harvest` and by `import` of the same
page ends as the same rows and the same files; every archiving command records its run."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest
from fakewechat import FakeWeChat, make_article_html

from harvester.cli import main

BIZ = "MzkxMTAwMDAwMQ=="
SN = "0123456789abcdef0123456789abcdef"
CT = 1767225600  # 2026-01-01 08:00 China time
LINKED = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2247480002&idx=1&sn={SN}"
BODY = (
    "<section><p><span leaf>神经再生是一个复杂的过程。</span></p>"
    f'<p><a href="{LINKED}">上一篇</a></p></section>'
)
# Columns that hold the moment of a capture or check: they differ between any two runs.
MOMENTS = {
    "first_fetched_at",
    "last_checked_at",
    "status_changed_at",
    "fetched_at",
    "raw_path",
    "first_seen",
    "last_seen",
}
TABLES = {
    "articles": "key",
    "revisions": "article_key, id",
    "images": "sha256",
    "article_images": "article_key, position",
    "links": "from_key, position",
    "articles_search": "key",
    "accounts": "biz",
}


def image_url(name: str) -> str:
    return f"https://mmbiz.qpic.cn/mmbiz_png/{name}/640?wx_fmt=png&from=appmsg"


@pytest.fixture
def article(fake_wechat: FakeWeChat, relay_env: str, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """One article with two images and a link, served by the fake; (its URL, its page)."""
    monkeypatch.setenv("HARVESTER_RATE", "1000")
    monkeypatch.setenv("HARVESTER_BACKOFF", "0.001")
    urls = [image_url("p1"), image_url("p2")]
    for url in urls:
        fake_wechat.add_image(url)
    html = make_article_html("神经修复与再生", "神经科学", BIZ, 2247480001, 1, SN, CT, BODY, urls)
    return fake_wechat.add_article(BIZ, 2247480001, 1, SN, html), html


def run(capsys: pytest.CaptureFixture, *args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    capsys.readouterr()
    return exited.value.code


def rows(archive: Path) -> dict[str, list[dict]]:
    """Every table the pipeline writes, capture times left out."""
    db = sqlite3.connect(archive / "archive.db")
    db.row_factory = sqlite3.Row
    found = {}
    for table, order in TABLES.items():
        found[table] = [
            {k: v for k, v in dict(row).items() if k not in MOMENTS and k != "id"}
            for row in db.execute(f"SELECT * FROM {table} ORDER BY {order}")
        ]
    db.close()
    return found


def files(archive: Path) -> dict[str, bytes]:
    """The archive's files: Markdown without its capture-time line, raw pages unzipped by
    their folder (their names are their capture times); not the harvest's lock."""
    found = {}
    for path in sorted(archive.rglob("*")):
        relpath = path.relative_to(archive).as_posix()
        if not path.is_file() or relpath.startswith("archive.db") or relpath == "harvest.lock":
            continue
        data = path.read_bytes()
        if relpath.startswith("raw/"):
            found[str(Path(relpath).parent)] = gzip.decompress(data)
        elif relpath.endswith(".md"):
            lines = data.decode("utf-8").splitlines(keepends=True)
            found[relpath] = "".join(x for x in lines if not x.startswith("fetched: ")).encode()
        else:
            found[relpath] = data
    return found


def test_fetch_harvest_and_import_archive_the_same_rows_and_files(
    article: tuple, tmp_path: Path, capsys: pytest.CaptureFixture
):
    url, html = article
    fetched, harvested, imported = (tmp_path / name for name in ("f", "h", "i"))
    assert run(capsys, "fetch", url, "--archive", str(fetched)) == 0
    (tmp_path / "links.txt").write_text(url + "\n", encoding="utf-8")
    config = tmp_path / "harvester.toml"
    config.write_text(
        '[politeness]\nrequests_per_second = 1000\njitter = 0\n[[sources]]\nkind = "urls"\n'
        'path = "links.txt"\n',
        encoding="utf-8",
    )
    assert run(capsys, "harvest", "--config", str(config), "--archive", str(harvested)) == 0
    page = tmp_path / "saved.html"
    page.write_text(html, encoding="utf-8")
    assert run(capsys, "import", str(page), "--archive", str(imported)) == 0

    assert rows(fetched)["article_images"][1]["status"] == "ok"
    assert rows(harvested) == rows(fetched)
    assert rows(imported) == rows(fetched)
    assert files(harvested) == files(fetched)
    assert files(imported) == files(fetched)


def test_every_archiving_command_records_its_run(
    article: tuple, tmp_path: Path, capsys: pytest.CaptureFixture
):
    url, html = article
    archive = tmp_path / "archive"
    page = tmp_path / "saved.html"
    page.write_text(html, encoding="utf-8")
    assert run(capsys, "fetch", url, "--archive", str(archive)) == 0
    assert run(capsys, "import", str(page), "--archive", str(archive), "--no-images") == 0
    assert run(capsys, "rebuild", "--archive", str(archive)) == 0
    with sqlite3.connect(archive / "archive.db") as db:
        runs = db.execute("SELECT command, outcome, counts FROM runs ORDER BY id").fetchall()
    assert runs == [
        ("fetch", "ok", '{"images_stored": 2, "new": 1}'),
        ("import", "ok", '{"unchanged": 1}'),
        ("rebuild", "ok", '{"unchanged": 1}'),
    ]
