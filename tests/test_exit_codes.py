"""One exit-code rule for every command (README, "Exit codes"), command by command.

0: everything asked for was done (files that are not articles are counted, skipped);
1: some inputs were bad or failed, each named in one line on stderr, the rest written;
2: nothing could be done because of how the command was called. `--json` changes no code.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from archive_builder import cli
from fakewechat import make_article_html, notice_html
from test_archiving import BIZ, CT, SN, add_article, query, seed_file

TRUNCATED = "truncated: the closing '<hr>' and 原文链接 footer are missing"


def summary(out: str) -> str:
    return out.split(" (archive: ")[0]


def bad_files(folder: Path) -> dict[str, str]:
    """An empty, a binary and a truncated file in `folder`: name → its stderr reason."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.md").write_bytes(b"")
    (folder / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    whole = seed_file(folder, "被截断", "CUT001", ()).read_text(encoding="utf-8")
    (folder / "CUT001.md").write_text(whole[: whole.index("<hr>")], encoding="utf-8")
    return {
        "CUT001.md": TRUNCATED,
        "empty.md": "empty file",
        "image.md": "binary file, not HTML or Markdown",
    }


def not_articles(folder: Path) -> None:
    (folder / "about").mkdir(parents=True, exist_ok=True)
    (folder / "_index.md").write_text('---\ntitle: "首页"\n---\n', encoding="utf-8")
    (folder / "about" / "index.md").write_text('---\ntitle: "关于"\n---\n关于本站。\n', "utf-8")
    (folder / "readme.txt").write_text("这里是说明。\n", encoding="utf-8")


def saved_page(path: Path, mid: int = 1) -> Path:
    body = "<p><span leaf>正文。</span></p>"
    path.write_text(make_article_html("标题", "神经科学", BIZ, mid, 1, SN, CT, body), "utf-8")
    return path


# --------------------------------------------------------------------------- import


def test_import_of_good_files_and_not_articles_is_0(archive, tmp_path):
    folder = tmp_path / "content"
    folder.mkdir()
    seed_file(folder, "第一篇", "IMP001", ())
    not_articles(folder)
    code, out, err = cli("import", str(folder), "--no-images", "--archive", str(archive))
    assert (code, err) == (0, "")
    assert summary(out) == (
        "1 new, 0 updated, 0 unchanged, 0 deleted, 0 failed, 3 skipped: not articles"
    )


def test_import_with_bad_files_among_good_ones_is_1_naming_each(archive, tmp_path):
    folder = tmp_path / "content"
    folder.mkdir()
    seed_file(folder, "第一篇", "IMP002", ())
    reasons = bad_files(folder)
    code, out, err = cli("import", str(folder), "--no-images", "--archive", str(archive))
    assert code == 1
    assert err == "".join(f"harvester: {folder / name}: {why}\n" for name, why in reasons.items())
    assert summary(out) == "1 new, 0 updated, 0 unchanged, 0 deleted, 3 failed"
    assert query(archive, "SELECT key FROM articles") == [("s:IMP002",)]


@pytest.mark.parametrize("name", ["empty.md", "image.md", "CUT001.md"])
def test_import_of_one_bad_file_is_1_like_many(archive, tmp_path, name):
    reason = bad_files(tmp_path)[name]
    code, out, err = cli("import", str(tmp_path / name), "--no-images", "--archive", str(archive))
    assert (code, err) == (1, f"harvester: {tmp_path / name}: {reason}\n")
    assert summary(out) == "0 new, 0 updated, 0 unchanged, 0 deleted, 1 failed"


def test_import_of_a_bare_link_is_1_naming_it(archive, tmp_path):
    bare = tmp_path / "bare.md"
    bare.write_text('---\ntitle: "待抓取"\n---\nhttps://mp.weixin.qq.com/s/Bare01\n', "utf-8")
    code, out, err = cli("import", str(bare), "--archive", str(archive))
    assert code == 1
    link = "https://mp.weixin.qq.com/s/Bare01"
    assert err == (
        f"harvester: {bare}: a bare link to {link}, never fetched; run harvester fetch on it\n"
    )
    assert summary(out) == "0 new, 0 updated, 0 unchanged, 0 deleted, 1 failed"


def test_import_of_a_missing_path_beside_a_good_one_is_1(archive, tmp_path):
    good = seed_file(tmp_path, "第一篇", "IMP003", ())
    code, out, err = cli(
        "import",
        str(tmp_path / "nope"),
        str(good),
        "--no-images",
        "--archive",
        str(archive),
    )
    assert (code, err) == (1, f"harvester: {tmp_path / 'nope'}: no such file or folder\n")
    assert summary(out) == "1 new, 0 updated, 0 unchanged, 0 deleted, 1 failed"


def test_import_with_nothing_to_read_is_2_and_creates_no_archive(archive, tmp_path):
    code, out, err = cli(
        "import", str(tmp_path / "a"), str(tmp_path / "b"), "--archive", str(archive)
    )
    assert (code, out) == (2, "")
    assert err == (
        f"harvester: {tmp_path / 'a'}: no such file or folder\n"
        f"harvester: {tmp_path / 'b'}: no such file or folder\n"
    )
    (tmp_path / "empty").mkdir()
    code, out, err = cli("import", str(tmp_path / "empty"), "--archive", str(archive))
    assert (code, out) == (2, "")
    suffixes = ".md, .txt, .html, .htm"
    assert err == f"harvester: {tmp_path / 'empty'}: no files to import (none ending {suffixes})\n"
    assert not archive.exists()


def test_import_with_a_bad_option_is_2(archive, tmp_path):
    code, _, err = cli("import", str(tmp_path), "--no-such-option")
    assert code == 2
    assert "No such option '--no-such-option'" in err


# --------------------------------------------------------------------------- convert


@pytest.mark.parametrize("as_json", [False, True], ids=["plain", "json"])
def test_convert_with_bad_files_among_good_ones_is_1_and_writes_the_rest(tmp_path, as_json):
    reasons = bad_files(tmp_path / "in")
    deleted = tmp_path / "in" / "deleted.html"
    deleted.write_text(notice_html("该内容已被发布者删除"), encoding="utf-8")
    good = saved_page(tmp_path / "in" / "good.html")
    sources = [tmp_path / "in" / name for name in reasons] + [deleted, good]
    json_flag = ["--json"] if as_json else []
    out_dir = tmp_path / "out"
    code, out, err = cli("convert", *map(str, sources), "--out-dir", str(out_dir), *json_flag)
    assert code == 1
    assert err == "".join(
        f"harvester: {tmp_path / 'in' / n}: {why}\n" for n, why in reasons.items()
    ) + (
        f"harvester: {deleted}: deleted page, nothing to convert "
        "(the article was deleted by its author)\n"
    )
    assert len(list(out_dir.rglob("*.md"))) == 1
    if as_json:
        assert [json.loads(line)["kind"] for line in out.splitlines()] == ["deleted", "article"]


@pytest.mark.parametrize("as_json", [False, True], ids=["plain", "json"])
def test_convert_of_one_deleted_page_is_1_with_or_without_json(tmp_path, as_json):
    deleted = tmp_path / "deleted.html"
    deleted.write_text(notice_html("该内容已被发布者删除"), encoding="utf-8")
    code, _, err = cli("convert", str(deleted), *(["--json"] if as_json else []))
    assert code == 1
    assert err == (
        f"harvester: {deleted}: deleted page, nothing to convert "
        "(the article was deleted by its author)\n"
    )


@pytest.mark.parametrize("as_json", [False, True], ids=["plain", "json"])
def test_convert_skips_not_articles_with_a_count_and_0(tmp_path, as_json):
    not_articles(tmp_path / "site")
    files = sorted((tmp_path / "site").rglob("*.*"))
    good = saved_page(tmp_path / "good.html")
    code, out, err = cli("convert", *map(str, files), str(good), *(["--json"] if as_json else []))
    assert (code, err) == (0, "harvester: 3 skipped: not articles\n")
    if as_json:
        kinds = [json.loads(line)["kind"] for line in out.splitlines()]
        assert kinds == ["document", "document", "document", "article"]
    else:
        assert out.startswith("---\ntitle: ")


def test_convert_with_nothing_to_read_is_2(tmp_path):
    code, out, err = cli("convert", str(tmp_path / "nope.html"), str(tmp_path))
    assert (code, out) == (2, "")
    assert err == (
        f"harvester: {tmp_path / 'nope.html'}: no such file or folder\n"
        f"harvester: {tmp_path}: is a directory, not a file\n"
    )


# --------------------------------------------------------------------------- fetch


def test_fetch_of_good_links_is_0(served, archive):
    url = add_article(served, 401, images=())
    code, out, err = cli("fetch", url, "--archive", str(archive))
    assert (code, err, summary(out)) == (
        0,
        "",
        "1 new, 0 updated, 0 unchanged, 0 deleted, 0 failed",
    )


def test_fetch_with_a_bad_link_and_a_deleted_page_among_good_ones_is_1(served, archive):
    good = add_article(served, 402, images=())
    deleted = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=403&idx=1&sn={SN}"
    served.fault(f"/s?__biz={BIZ}&mid=403", "deleted")
    code, out, err = cli(
        "fetch", "https://example.com/s/abc", deleted, good, "--archive", str(archive)
    )
    assert code == 1
    assert err == (
        "harvester: 'https://example.com/s/abc' is not a WeChat article link: "
        "its host is example.com, not mp.weixin.qq.com\n"
        f"harvester: {deleted}: deleted page; the article was never archived\n"
    )
    assert summary(out) == "1 new, 0 updated, 0 unchanged, 0 deleted, 2 failed"


def test_fetch_with_no_usable_link_is_2(archive):
    code, out, err = cli("fetch", "not a link", "--archive", str(archive))
    assert (code, out) == (2, "")
    assert err.startswith("harvester: 'not a link' is not a WeChat article link")
    assert err.count("\n") == 1


# --------------------------------------------------------------------------- rebuild


def test_rebuild_is_0_and_1_for_an_article_whose_raw_page_is_damaged(served, archive):
    urls = [add_article(served, mid, images=()) for mid in (501, 502)]
    cli("fetch", *urls, "--archive", str(archive))
    code, out, err = cli("rebuild", "--archive", str(archive))
    assert (code, err, summary(out)) == (
        0,
        "",
        "0 new, 0 updated, 2 unchanged, 0 deleted, 0 failed",
    )
    with sqlite3.connect(archive / "archive.db") as db:
        [(raw_path,)] = db.execute(f"SELECT raw_path FROM articles WHERE key = '{BIZ}:502:1'")
    (archive / raw_path).write_bytes(b"garbage")
    code, out, err = cli("rebuild", "--archive", str(archive))
    assert code == 1
    assert err.startswith(f"harvester: {BIZ}:502:1: ")
    assert err.count("\n") == 1
    assert summary(out) == "0 new, 0 updated, 1 unchanged, 0 deleted, 1 failed"


def test_rebuild_without_an_archive_is_2(tmp_path):
    code, out, err = cli("rebuild", "--archive", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == (
        f"harvester: {tmp_path}: no archive here (no archive.db); archive something first\n"
    )
