"""`harvester import` of what is not a seed: a Hugo site's ordinary files (skipped, counted),
the archive's own articles/ Markdown and its Hugo export (a round trip: the same articles)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fakewechat import FakeWeChat
from test_archiving import BIZ, add_article, harvester, query, seed_file

from harvester.cli import main
from harvester.reader import parse_source

ROW = (
    "SELECT key, title, published_at, date_source, account, author, url, short_url, kind, "
    "status, tags, categories, first_fetched_at, md_path, body_text FROM articles ORDER BY key"
)


NOTICE = "> 存档说明：该内容已被发布者删除（status: deleted），以下是此前保存的副本。\n\n"


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


# --------------------------------------------------------------------------- round trip


def archived_by_fetching(served: FakeWeChat, archive: Path, capsys) -> list[str]:
    """Three fetched articles: images, a short link, shortcode-like text, one deleted since."""
    urls = [
        add_article(served, 301, title="图片与正文", images=("r1", "r2")),
        add_article(
            served,
            302,
            title="短链接 {{< 不是短代码 >}}",
            body="<p>写着 {{&lt; youtube abc &gt;}} 和 {{% note %}} 的一段。</p>",
            images=("r1",),
            short_id="RoundTrip02",
        ),
        add_article(served, 303, title="后来删除", images=("r3",)),
    ]
    code, _, err = harvester(capsys, "fetch", *urls[:1], "--archive", str(archive))
    assert (code, err) == (0, "")
    code, _, _ = harvester(
        capsys,
        "fetch",
        "https://mp.weixin.qq.com/s/RoundTrip02",
        urls[2],
        "--archive",
        str(archive),
    )
    assert code == 0
    served.fault(f"/s?__biz={BIZ}&mid=303", "deleted")
    code, out, _ = harvester(capsys, "fetch", urls[2], "--refresh", "--archive", str(archive))
    assert (code, out.split(" (")[0]) == (0, "0 new, 0 updated, 0 unchanged, 1 deleted, 0 failed")
    return urls


def rows(archive: Path) -> list[tuple]:
    with sqlite3.connect(archive / "archive.db") as db:
        return db.execute(ROW).fetchall()


def markdown_files(archive: Path) -> dict[str, bytes]:
    return {p.relative_to(archive).as_posix(): p.read_bytes() for p in archive.rglob("*.md")}


def test_an_exported_hugo_site_imports_back_as_the_same_articles(served, archive, capsys, tmp_path):
    archived_by_fetching(served, archive, capsys)
    site = tmp_path / "site"
    main(["export", "hugo", str(site), "--archive", str(archive)])
    capsys.readouterr()
    exported = b"".join(markdown_files(site / "content").values()).decode()
    assert NOTICE in exported and "{{</* youtube abc */>}}" in exported  # what import undoes
    served.stop()  # the round trip needs no network: images come from the site's static/
    again = tmp_path / "again"
    code, out, err = harvester(
        capsys, "import", str(site / "content"), "--no-images", "--archive", str(again)
    )
    assert (code, err) == (0, "")
    assert out.startswith(
        "3 new, 0 updated, 0 unchanged, 0 deleted, 0 failed; images: 4 stored, 0 missing"
    )
    assert rows(again) == rows(archive)
    assert markdown_files(again) == markdown_files(archive)
    images = "SELECT sha256, path FROM images ORDER BY sha256"
    assert query(again, images) == query(archive, images)
    exported_again = tmp_path / "site-again"
    main(["export", "hugo", str(exported_again), "--archive", str(again)])
    assert markdown_files(exported_again / "content") == markdown_files(site / "content")


def test_the_archives_own_markdown_imports_back_as_the_same_articles(
    served, archive, capsys, tmp_path
):
    archived_by_fetching(served, archive, capsys)
    served.stop()
    again = tmp_path / "again"
    code, out, err = harvester(
        capsys, "import", str(archive / "articles"), "--no-images", "--archive", str(again)
    )
    assert (code, err) == (0, "")
    assert out.startswith(  # an image two articles show is stored once and counted twice
        "3 new, 0 updated, 0 unchanged, 0 deleted, 0 failed; images: 4 stored, 0 missing"
    )
    assert rows(again) == rows(archive)
    code, out, _ = harvester(
        capsys, "import", str(archive / "articles"), "--no-images", "--archive", str(again)
    )
    assert (code, out.split(" (")[0]) == (0, "0 new, 0 updated, 3 unchanged, 0 deleted, 0 failed")
    assert query(again, "SELECT status FROM articles ORDER BY key") == [
        ("live",),
        ("live",),
        ("deleted",),  # a copy read again proves nothing newer: the article stays deleted
    ]
    code, out, _ = harvester(capsys, "rebuild", "--archive", str(again))
    assert (code, out.split(" (")[0]) == (0, "0 new, 0 updated, 3 unchanged, 0 deleted, 0 failed")
    assert markdown_files(again) == markdown_files(archive)


def test_raw_html_and_script_links_in_an_imported_markdown_file_are_archived_as_text(
    archive, capsys, tmp_path
):
    url = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=305&idx=1&sn=0123456789abcdef"
    own = write(
        tmp_path / "own" / "hostile.md",
        f'---\ntitle: "手写"\ndate: 2026-01-21T08:00:00+08:00\naccount: "账号"\n'
        f'wechat_url: "{url}"\n---\n手写 by 账号\n------\n\n'
        '正文 <img src=x onerror="alert(1)"> 和 `<b>代码</b>`\n\n'
        "<script>alert(2)</script>\n\n[点我](java&#x09;script:alert(3))\n\n"
        f"---\n\n[原文链接]({url})\n",
    )
    code, _, err = harvester(capsys, "import", str(own), "--no-images", "--archive", str(archive))
    assert (code, err) == (0, "")
    [markdown] = markdown_files(archive).values()
    body = markdown.decode().split("------\n\n")[1].split("\n\n---\n")[0]
    assert body == (
        '正文 &lt;img src=x onerror="alert(1)"> 和 `<b>代码</b>`\n\n'
        "&lt;script>alert(2)&lt;/script>\n\n\\[点我\\](java&#x09;script:alert(3))"
    )


def test_an_archived_copy_whose_image_is_gone_is_archived_with_the_image_missing(
    served, archive, capsys, tmp_path
):
    url = add_article(served, 304, title="缺图", images=("gone",))
    harvester(capsys, "fetch", url, "--archive", str(archive))
    for image in (archive / "images").rglob("*.png"):
        image.unlink()
    again = tmp_path / "again"
    code, out, err = harvester(
        capsys, "import", str(archive / "articles"), "--no-images", "--archive", str(again)
    )
    assert (code, err) == (1, "")
    assert out.startswith("1 new, 0 updated, 0 unchanged, 0 deleted, 0 failed; images: 0 stored, 1")
    [(status, error)] = query(
        again, "SELECT status, error FROM article_images WHERE url LIKE 'images/%'"
    )
    assert status == "missing"
    assert "not found beside" in error
