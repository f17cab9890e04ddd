"""`harvester import` of what is not a seed article: a Hugo site's ordinary files are skipped
and counted, not failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakewechat import FakeWeChat
from test_archiving import harvester, query, seed_file

from harvester.cli import main
from harvester.reader import parse_source


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture
def served(fake_wechat: FakeWeChat, relay_env: str, monkeypatch: pytest.MonkeyPatch) -> FakeWeChat:
    monkeypatch.setenv("HARVESTER_RATE", "1000")
    monkeypatch.setenv("HARVESTER_BACKOFF", "0.001")
    return fake_wechat


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def old_hugo_site(root: Path) -> Path:
    """A small Hugo site as our users' old sites are: sections, an about page, a plain
    document, beside the seed-format articles."""
    content = root / "content"
    write(content / "_index.md", '---\ntitle: "我的存档"\n---\n欢迎。\n')
    write(content / "posts" / "_index.md", '---\ntitle: "文章"\n---\n')
    write(
        content / "about" / "index.md",
        '---\ntitle: "关于"\ndate: 2020-01-01\ndraft: false\n---\n'
        "这个站收藏我喜欢的公众号文章。\n\n---\n\n联系：me@example.org\n",
    )
    write(content / "notes.md", "# 笔记\n\n读论文的笔记。访问过于频繁时请验证身份。\n")
    return content


def test_a_hugo_sites_ordinary_files_are_skipped_and_counted_not_failures(
    archive, capsys, tmp_path
):
    content = old_hugo_site(tmp_path / "site")
    seed_file(content / "posts", "第一篇", "HUGO01", ())
    code, out, err = harvester(
        capsys, "import", str(content), "--no-images", "--archive", str(archive)
    )
    assert (code, err) == (0, "")
    assert out == (
        "1 new, 0 updated, 0 unchanged, 0 deleted, 0 failed, 4 skipped: not articles "
        f"(archive: {archive})\n"
    )
    assert query(archive, "SELECT key FROM articles") == [("s:HUGO01",)]


def test_a_truncated_seed_beside_them_is_the_one_failure(archive, capsys, tmp_path):
    content = old_hugo_site(tmp_path / "site")
    good = seed_file(content / "posts", "第一篇", "HUGO02", ())
    text = good.read_text(encoding="utf-8")
    cut = write(content / "posts" / "cut.md", text[: text.index("<hr>")])
    code, out, err = harvester(
        capsys, "import", str(content), "--no-images", "--archive", str(archive)
    )
    assert code == 1
    assert err == (
        f"harvester: {cut}: truncated: the closing '<hr>' and 原文链接 footer are missing\n"
    )
    assert out.startswith("1 new, 0 updated, 0 unchanged, 0 deleted, 1 failed, 4 skipped: not")


def test_a_plain_document_is_a_document_not_a_verification_page():
    assert parse_source("# 笔记\n\n访问过于频繁，请验证身份。\n").kind == "document"
    assert parse_source('---\ntitle: "关于"\n---\n关于本站。\n').kind == "document"


def test_a_seed_folder_in_a_harvest_skips_them_silently(served, archive, capsys, tmp_path):
    content = old_hugo_site(tmp_path / "site")
    seed_file(content / "posts", "第一篇", "HUGO03", ())
    config = write(
        tmp_path / "harvester.toml",
        f'archive = "{archive}"\n[politeness]\nrequests_per_second = 1000\njitter = 0\n'
        '[[sources]]\nkind = "seed"\npath = "site/content"\n',
    )
    with pytest.raises(SystemExit) as exited:
        main(["harvest", "--config", str(config), "--json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert (exited.value.code, err, report["warnings"]) == (0, "", [])
    assert (report["counts"]["new"], report["counts"]["skipped"]) == (1, 2)  # _index.md unread
