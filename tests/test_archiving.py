"""`harvester fetch`, `import` and `rebuild` end to end, through the fake WeChat on loopback."""

from __future__ import annotations

import gzip
import io
import socket
import sqlite3
from pathlib import Path

import pytest
from fakewechat import FakeWeChat, make_article_html

from harvester.cli import main
from harvester.page import parse_page
from harvester.pipeline import earlier_content_hash

BIZ = "MzkxMTAwMDAwMQ=="
SN = "0123456789abcdef0123456789abcdef"
CT = 1767225600  # 2026-01-01 08:00 China time


def image_url(name: str) -> str:
    return f"https://mmbiz.qpic.cn/mmbiz_png/{name}/640?wx_fmt=png&from=appmsg"


def add_article(
    fake: FakeWeChat,
    mid: int,
    *,
    title: str = "神经修复与再生",
    body: str = "<p><span leaf>神经再生是一个复杂的过程。</span></p>",
    images: tuple[str, ...] = ("a1", "a2"),
    short_id: str | None = None,
) -> str:
    urls = [image_url(name) for name in images]
    for url in urls:
        fake.add_image(url)
    page = make_article_html(title, "神经科学", BIZ, mid, 1, SN, CT, body, urls)
    return fake.add_article(BIZ, mid, 1, SN, page, short_id=short_id)


def harvester(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def query(archive: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(archive / "archive.db") as db:
        return db.execute(sql).fetchall()


def test_fetch_archives_markdown_images_and_index_row(served, archive, capsys):
    url = add_article(served, 100)
    code, out, err = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert (code, err) == (0, "")
    assert out.startswith("1 new, 0 updated, 0 unchanged, 0 deleted, 0 failed")
    [(key, md_path, status)] = query(archive, "SELECT key, md_path, status FROM articles")
    assert (key, status) == (f"{BIZ}:100:1", "live")
    text = (archive / md_path).read_text(encoding="utf-8")
    assert 'title: "神经修复与再生"' in text
    assert "神经再生是一个复杂的过程。" in text
    assert query(archive, "SELECT count(*) FROM images") == [(2,)]


def test_fetched_markdown_links_images_to_local_files(served, archive, capsys):
    url = add_article(served, 101)
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    md_file = archive / md_path
    targets = [
        line.split("](", 1)[1].rstrip(")")
        for line in md_file.read_text(encoding="utf-8").splitlines()
        if line.startswith("![")
    ]
    assert len(targets) == 2
    assert all((md_file.parent / target).resolve().is_file() for target in targets)
    assert all("mmbiz" not in target for target in targets)


def test_refetching_unchanged_article_adds_nothing_and_rewrites_no_file(served, archive, capsys):
    url = add_article(served, 102)
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    before = (archive / md_path).stat().st_mtime_ns
    code, out, _ = harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    assert code == 0
    assert out.startswith("0 new, 0 updated, 1 unchanged")
    assert (archive / md_path).stat().st_mtime_ns == before
    assert query(archive, "SELECT count(*) FROM revisions") == [(1,)]


def test_fetching_an_archived_link_without_refresh_makes_no_request(served, archive, capsys):
    url = add_article(served, 103, images=())
    harvester(capsys, "fetch", url, "--archive", str(archive))
    served.clear_requests()
    code, out, _ = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert (code, served.requests) == (0, [])
    assert out.startswith(
        "0 new, 0 updated, 0 unchanged, 0 deleted, 0 failed, "
        "1 already archived (use --refresh to check again)"
    )


def test_changed_article_adds_a_revision_and_keeps_the_old_raw_page(served, archive, capsys):
    url = add_article(served, 104, images=())
    harvester(capsys, "fetch", url, "--archive", str(archive))
    add_article(served, 104, images=(), body="<p>作者修改了这一段。</p>")
    code, out, _ = harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    assert code == 0
    assert out.startswith("0 new, 1 updated")
    revisions = query(archive, "SELECT change, raw_path FROM revisions ORDER BY id")
    assert [change for change, _ in revisions] == ["new", "content"]
    old_raw = gzip.decompress((archive / revisions[0][1]).read_bytes()).decode("utf-8")
    assert "神经再生是一个复杂的过程" in old_raw
    [(body,)] = query(archive, "SELECT body_text FROM articles")
    assert "作者修改了这一段。" in body


TEMPLATE_2025 = "<p><span leaf>神经再生是一个复杂的过程。</span></p>"
TEMPLATE_2026 = (
    '<section style="margin: 0px;" data-role="outer"><p style="text-align: justify;">'
    '<span leaf="" data-pm-slice="1 1 []">神经再生是一个复杂的过程。</span></p></section>'
)


def test_the_same_article_in_a_changed_template_adds_no_revision(served, archive, capsys):
    """Other wrappers and attributes around the same text, the image with other parameters."""
    image = image_url("tpl")
    again = image.replace("?wx_fmt=png", "?wx_fmt=png&tp=webp&wxfrom=5")
    for url, body in ((image, TEMPLATE_2025), (again, TEMPLATE_2026)):
        served.add_image(url)
        page = make_article_html("模板变了", "神经科学", BIZ, 121, 1, SN, CT, body, [url])
        link = served.add_article(BIZ, 121, 1, SN, page)
        code, out, _ = harvester(capsys, "fetch", link, "--refresh", "--archive", str(archive))
    assert code == 0
    assert out.startswith("0 new, 0 updated, 1 unchanged, 0 deleted, 0 failed")
    assert query(archive, "SELECT revision_count FROM articles") == [(1,)]


def test_an_article_hashed_as_before_is_still_the_same_version(served, archive, capsys):
    url = add_article(served, 122, images=())
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(now,)] = query(archive, "SELECT content_hash FROM articles")
    page = parse_page(
        make_article_html(
            "神经修复与再生",
            "神经科学",
            BIZ,
            122,
            1,
            SN,
            CT,
            "<p><span leaf>神经再生是一个复杂的过程。</span></p>",
        )
    )
    with sqlite3.connect(archive / "archive.db") as db:  # as archived before 2026-12
        db.execute("UPDATE articles SET content_hash = ?", [earlier_content_hash(page, None)])
    code, out, _ = harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    assert (code, out.split(" (")[0]) == (0, "0 new, 0 updated, 1 unchanged, 0 deleted, 0 failed")
    assert query(archive, "SELECT content_hash, revision_count FROM articles") == [(now, 1)]


def test_an_article_fetched_again_after_the_converter_changed_is_no_new_version(
    served, archive, capsys
):
    url = add_article(served, 124, images=())
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(now,)] = query(archive, "SELECT content_hash FROM articles")
    with sqlite3.connect(archive / "archive.db") as db:  # hashed by an older converter
        db.execute("UPDATE articles SET content_hash = 'an older conversion'")
    code, out, _ = harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    assert (code, out.split(" (")[0]) == (0, "0 new, 0 updated, 1 unchanged, 0 deleted, 0 failed")
    assert query(archive, "SELECT content_hash, revision_count FROM articles") == [(now, 1)]
    assert len(list((archive / "raw").rglob("*.html.gz"))) == 1


def test_an_article_changed_since_an_older_converter_archived_it_is_a_new_version(
    served, archive, capsys
):
    url = add_article(served, 125, images=())
    harvester(capsys, "fetch", url, "--archive", str(archive))
    with sqlite3.connect(archive / "archive.db") as db:
        db.execute("UPDATE articles SET content_hash = 'an older conversion'")
    add_article(served, 125, images=(), body="<p>作者修改了这一段。</p>")
    code, out, _ = harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    assert (code, out.split(" (")[0]) == (0, "0 new, 1 updated, 0 unchanged, 0 deleted, 0 failed")
    assert query(archive, "SELECT revision_count FROM articles") == [(2,)]


def test_rebuild_gives_an_article_hashed_as_before_its_hash_silently(served, archive, capsys):
    url = add_article(served, 123, images=())
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(now,)] = query(archive, "SELECT content_hash FROM articles")
    with sqlite3.connect(archive / "archive.db") as db:
        db.execute("UPDATE articles SET content_hash = 'an earlier hash'")
    code, out, _ = harvester(capsys, "rebuild", "--archive", str(archive))
    assert (code, out.split(" (")[0]) == (0, "0 new, 0 updated, 1 unchanged, 0 deleted, 0 failed")
    assert query(archive, "SELECT content_hash, revision_count FROM articles") == [(now, 1)]


def test_article_deleted_since_archived_is_marked_and_keeps_its_content(served, archive, capsys):
    url = add_article(served, 105, images=())
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    kept = (archive / md_path).read_text(encoding="utf-8")
    served.fault("/s", "deleted")
    code, out, _ = harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    assert code == 0
    assert out.startswith("0 new, 0 updated, 0 unchanged, 1 deleted, 0 failed")
    assert query(archive, "SELECT status FROM articles") == [("deleted",)]
    assert (archive / md_path).read_text(encoding="utf-8") == kept.replace(
        'status: "live"', 'status: "deleted"'
    )


def test_the_markdown_of_a_deleted_article_says_deleted_as_a_rebuild_would(served, archive, capsys):
    url = add_article(served, 107, images=())
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    served.fault("/s", "deleted")
    harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    marked = (archive / md_path).read_bytes()
    code, out, _ = harvester(capsys, "rebuild", "--archive", str(archive))
    assert (code, out.split(" (")[0]) == (0, "0 new, 0 updated, 1 unchanged, 0 deleted, 0 failed")
    assert (archive / md_path).read_bytes() == marked


def test_an_article_live_again_says_live_in_its_markdown(served, archive, capsys):
    url = add_article(served, 108, images=())
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    live = (archive / md_path).read_bytes()
    served.fault("/s", "deleted")
    harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    served.clear_faults()
    harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    assert query(archive, "SELECT status FROM articles") == [("live",)]
    assert (archive / md_path).read_bytes() == live


def test_deleted_page_for_an_unknown_article_is_a_named_failure(served, archive, capsys):
    served.fault("/s", "deleted")
    url = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=106&idx=1&sn={SN}"
    code, _, err = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert code == 1
    assert err == f"harvester: {url}: deleted page; the article was never archived\n"


def test_a_message_page_that_says_why_is_named_with_its_reason(served, archive, capsys):
    served.fault("/s", "unavailable", text="根据作者隐私设置，无法查看该内容")
    url = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=109&idx=1&sn={SN}"
    code, _, err = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert code == 1
    assert err == (
        f"harvester: {url}: unavailable page (hidden by the author's privacy settings); "
        "the article was never archived\n"
    )
    assert query(archive, "SELECT outcome, error FROM fetches") == [
        ("unavailable", "hidden by the author's privacy settings")
    ]


def test_verification_page_stops_the_run_with_exit_75_and_archives_nothing(served, archive, capsys):
    first, second = add_article(served, 107), add_article(served, 108)
    served.fault("/s", "verify")
    code, _, err = harvester(capsys, "fetch", first, second, "--archive", str(archive))
    assert code == 75
    assert "verification page" in err and "Try again after" in err
    assert len(err.strip().splitlines()) == 1
    assert query(archive, "SELECT count(*) FROM articles") == [(0,)]
    assert not any("mid=108" in path for path in served.paths())


def test_short_link_is_archived_under_its_full_key(served, archive, capsys):
    add_article(served, 109, short_id="Abc_def-123", images=())
    code, _, _ = harvester(
        capsys, "fetch", "https://mp.weixin.qq.com/s/Abc_def-123", "--archive", str(archive)
    )
    assert code == 0
    assert query(archive, "SELECT key, short_url FROM articles") == [
        (f"{BIZ}:109:1", "https://mp.weixin.qq.com/s/Abc_def-123")
    ]


def test_failed_image_keeps_the_remote_link_and_is_retried_next_run(served, archive, capsys):
    url = add_article(served, 110, images=("ok1", "broken"))
    served.fault("/mmbiz_png/broken", "500")
    code, out, err = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert (code, out.split(" (")[0]) == (
        1,
        "1 new, 0 updated, 0 unchanged, 0 deleted, 0 failed; images: 1 stored, 1 missing",
    )
    assert err == ""
    assert query(archive, "SELECT status FROM article_images ORDER BY position") == [
        ("ok",),
        ("missing",),
    ]
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    assert image_url("broken") in (archive / md_path).read_text(encoding="utf-8")
    served.clear_faults()
    harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    assert query(archive, "SELECT status FROM article_images ORDER BY position") == [
        ("ok",),
        ("ok",),
    ]
    assert image_url("broken") not in (archive / md_path).read_text(encoding="utf-8")


def test_an_image_url_answering_html_is_recorded_missing(served, archive, capsys):
    url = add_article(served, 111, images=("fake",))
    served.fault("/mmbiz_png/fake", "html_image")
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(status, error)] = query(archive, "SELECT status, error FROM article_images")
    assert status == "missing"
    assert "expected an image" in error


def test_an_svg_image_that_could_run_code_stays_a_remote_link(served, archive, capsys):
    url = add_article(served, 112, images=("scripted",))
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    served.add_image(image_url("scripted"), data=svg, content_type="image/svg+xml")
    code, out, _ = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert (code, out.split("; ")[1].split(" (")[0]) == (1, "images: 0 stored, 1 missing")
    [(status, error)] = query(archive, "SELECT status, error FROM article_images")
    assert (status, error) == (
        "missing",
        f"{image_url('scripted')}: an SVG that could run code (a <script> element): "
        "kept as a remote link",
    )
    assert list(archive.glob("images/**/*.svg")) == []


def test_unreachable_page_is_a_named_failure_with_exit_1(served, archive, capsys):
    url = add_article(served, 112, images=())
    served.fault("/s", "500")
    code, out, err = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert code == 1
    assert err.startswith(f"harvester: {url}")
    assert "HTTP 500" in err
    assert out.startswith("0 new, 0 updated, 0 unchanged, 0 deleted, 1 failed")


def test_bad_link_argument_is_named_and_the_good_ones_are_still_fetched(served, archive, capsys):
    url = add_article(served, 113, images=())
    code, out, err = harvester(
        capsys, "fetch", "https://example.com/s/abc", url, "--archive", str(archive)
    )
    assert code == 1
    assert err.startswith("harvester: 'https://example.com/s/abc' is not a WeChat article link")
    assert out.startswith("1 new, 0 updated, 0 unchanged, 0 deleted, 1 failed")


def test_hostile_title_and_account_stay_inside_the_archive(served, archive, capsys):
    hostile = "../../../../etc/passwd\x00" + "长" * 400
    page = make_article_html(hostile, "/abs/../..", BIZ, 114, 1, SN, CT, "<p>正文</p>")
    url = served.add_article(BIZ, 114, 1, SN, page)
    code, _, _ = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert code == 0
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    resolved = (archive / md_path).resolve()
    assert resolved.is_relative_to(archive.resolve())
    assert len(resolved.name.encode()) < 255


def seed_file(folder: Path, name: str, short_id: str, images: tuple[str, ...]) -> Path:
    imgs = "".join(f'<p><img data-src="{image_url(i)}" src="{image_url(i)}"></p>' for i in images)
    text = (
        f'---\ntitle: "{name}"\ndate: 2026-01-26T00:00:16Z\ndraft: ["false"]\n'
        f'tags: [\n  "fetched",\n  "神经科学"\n]\ncategories: ["Acdemic"]\n---\n'
        f"{name} by 神经科学\n------\n<div><p><span leaf>{name}的正文。</span></p>{imgs}</div>  \n"
        f'<hr>\n<a href="https://mp.weixin.qq.com/s/{short_id}",target="_blank" '
        f'rel="noopener noreferrer">原文链接</a>\n'
    )
    path = folder / f"{short_id}.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_makes_one_article_per_seed_file_with_shared_images_stored_once(
    served, archive, capsys, tmp_path
):
    folder = tmp_path / "seeds"
    folder.mkdir()
    served.add_image(image_url("shared"))
    served.add_image(image_url("own"))
    seed_file(folder, "第一篇", "AAA111", ("shared",))
    seed_file(folder, "第二篇", "BBB222", ("shared", "own"))
    code, out, err = harvester(capsys, "import", str(folder), "--archive", str(archive))
    assert (code, err) == (0, "")
    assert out.startswith("2 new, 0 updated, 0 unchanged, 0 deleted, 0 failed")
    assert query(archive, "SELECT key FROM articles ORDER BY key") == [("s:AAA111",), ("s:BBB222",)]
    assert query(archive, "SELECT count(*) FROM images") == [(2,)]
    assert len(list((archive / "images").rglob("*.png"))) == 2


def test_importing_the_same_files_again_changes_nothing(served, archive, capsys, tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    served.add_image(image_url("one"))
    seed_file(folder, "第一篇", "CCC333", ("one",))
    harvester(capsys, "import", str(folder), "--archive", str(archive))
    served.clear_requests()
    code, out, _ = harvester(capsys, "import", str(folder), "--archive", str(archive))
    assert code == 0
    assert out.startswith("0 new, 0 updated, 1 unchanged")
    assert served.requests == []


def test_import_without_images_keeps_remote_links_and_makes_no_request(
    served, archive, capsys, tmp_path
):
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "第一篇", "DDD444", ("remote",))
    code, _, _ = harvester(capsys, "import", str(folder), "--no-images", "--archive", str(archive))
    assert (code, served.requests) == (0, [])
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    assert image_url("remote") in (archive / md_path).read_text(encoding="utf-8")


def test_import_counts_missing_images_and_gives_up_on_a_host_that_is_down(
    archive, capsys, tmp_path, monkeypatch
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HARVESTER_RELAY", f"mmbiz.qpic.cn=http://127.0.0.1:{port}")
    monkeypatch.setenv("HARVESTER_BACKOFF", "0.001")
    folder = tmp_path / "seeds"
    folder.mkdir()
    for n in range(5):
        seed_file(folder, f"第{n}篇", f"DOWN{n}", (f"img{n}",))
    code, out, err = harvester(capsys, "import", str(folder), "--archive", str(archive))
    assert (code, err) == (1, "")
    assert out.split(" (")[0] == (
        "5 new, 0 updated, 0 unchanged, 0 deleted, 0 failed; images: 0 stored, 5 missing"
    )
    errors = [e for (e,) in query(archive, "SELECT error FROM article_images ORDER BY url")]
    assert [e.split(": ", 1)[1] for e in errors] == ["connection refused after 4 attempts"] * 3 + [
        "mmbiz.qpic.cn is down: 3 requests in a row could not connect; not tried again this run"
    ] * 2


def test_import_off_a_terminal_prints_progress_lines(
    served, archive, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("HARVESTER_PROGRESS_SECONDS", "0.000001")
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "第一篇", "PRG111", ())
    seed_file(folder, "第二篇", "PRG222", ())
    code, _, err = harvester(
        capsys, "import", str(folder), "--no-images", "--archive", str(archive)
    )
    assert (code, err) == (0, "import: 1 of 2 done\nimport: 2 of 2 done\n")


def test_a_lone_surrogate_or_an_impossible_date_costs_nothing(archive, capsys, tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "\\ud800坏\\u007f\\ufffe", "SUR001", ())
    far = seed_file(folder, "远", "DAT002", ())
    far.write_text(far.read_text("utf-8").replace("2026-01-26", "9999-12-31"), "utf-8")
    seed_file(folder, "好", "GOOD03", ())
    code, out, err = harvester(
        capsys, "import", str(folder), "--no-images", "--archive", str(archive)
    )
    assert (code, err, out.split(" (")[0]) == (
        0,
        "",
        "3 new, 0 updated, 0 unchanged, 0 deleted, 0 failed",
    )
    assert query(archive, "SELECT title, published_at FROM articles ORDER BY key") == [
        ("远", None),
        ("好", "2026-01-26T08:00:16+08:00"),
        ("\ufffd坏", "2026-01-26T08:00:16+08:00"),
    ]


def test_import_of_a_missing_path_is_a_one_line_usage_error(archive, capsys, tmp_path):
    code, _, err = harvester(capsys, "import", str(tmp_path / "nope"), "--archive", str(archive))
    assert code == 2
    assert err == f"harvester: {tmp_path / 'nope'}: no such file or folder\n"


def test_import_names_unreadable_files_and_archives_the_rest(served, archive, capsys, tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "第一篇", "EEE555", ())
    (folder / "empty.md").write_bytes(b"")
    code, out, err = harvester(capsys, "import", str(folder), "--archive", str(archive))
    assert code == 1
    assert err == f"harvester: {folder / 'empty.md'}: empty file\n"
    assert out.startswith("1 new")


def test_import_names_an_article_it_cannot_write_and_keeps_the_others(archive, capsys, tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "第一篇", "WRT001", ())
    blocked = seed_file(folder, "第二篇", "WRT002", ())
    seed_file(folder, "第三篇", "WRT003", ())
    scout = tmp_path / "scout"
    harvester(capsys, "import", str(blocked), "--no-images", "--archive", str(scout))
    [(md_path,)] = query(scout, "SELECT md_path FROM articles")
    (archive / md_path).mkdir(parents=True)  # a folder where the Markdown file must go
    code, out, err = harvester(
        capsys, "import", str(folder), "--no-images", "--archive", str(archive)
    )
    assert code == 1
    assert err == f"harvester: {blocked}: not archived: Is a directory\n"
    assert out.startswith("2 new, 0 updated, 0 unchanged, 0 deleted, 1 failed")
    keys = query(archive, "SELECT key FROM articles ORDER BY key")
    assert keys == [("s:WRT001",), ("s:WRT003",)]


def test_the_images_of_an_article_that_could_not_be_written_are_not_counted(
    served, archive, capsys, tmp_path
):
    folder = tmp_path / "seeds"
    folder.mkdir()
    served.add_image(image_url("kept"))
    served.add_image(image_url("lost"))
    seed_file(folder, "第一篇", "WRT011", ("kept",))
    blocked = seed_file(folder, "第二篇", "WRT012", ("lost",))
    scout = tmp_path / "scout"
    harvester(capsys, "import", str(blocked), "--no-images", "--archive", str(scout))
    [(md_path,)] = query(scout, "SELECT md_path FROM articles")
    (archive / md_path).mkdir(parents=True)
    code, out, _ = harvester(capsys, "import", str(folder), "--archive", str(archive))
    assert code == 1
    assert out.split(" (")[0] == (
        "1 new, 0 updated, 0 unchanged, 0 deleted, 1 failed; images: 1 stored, 0 missing"
    )


def test_fetched_page_later_met_as_seed_file_is_the_same_article(served, archive, capsys, tmp_path):
    add_article(served, 115, short_id="FFF666", images=())
    harvester(capsys, "fetch", "https://mp.weixin.qq.com/s/FFF666", "--archive", str(archive))
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "第一篇", "FFF666", ())
    harvester(capsys, "import", str(folder), "--archive", str(archive))
    assert query(archive, "SELECT key FROM articles") == [(f"{BIZ}:115:1",)]


def test_seed_imported_article_takes_its_full_key_when_fetched(served, archive, capsys, tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "第一篇", "GGG777", ())
    harvester(capsys, "import", str(folder), "--archive", str(archive))
    add_article(served, 116, short_id="GGG777", images=())
    harvester(
        capsys,
        "fetch",
        "https://mp.weixin.qq.com/s/GGG777",
        "--refresh",
        "--archive",
        str(archive),
    )
    assert query(archive, "SELECT key FROM articles") == [(f"{BIZ}:116:1",)]
    assert query(archive, "SELECT DISTINCT article_key FROM revisions") == [(f"{BIZ}:116:1",)]


def test_seed_import_fills_the_accounts_table_by_name_and_a_fetch_gives_it_its_biz(
    served, archive, capsys, tmp_path
):
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "第一篇", "ACC111", ())
    seed_file(folder, "第二篇", "ACC222", ())
    harvester(capsys, "import", str(folder), "--no-images", "--archive", str(archive))
    accounts = "SELECT biz, nickname FROM accounts"
    assert query(archive, accounts) == [(None, "神经科学")]
    add_article(served, 117, short_id="ACC111", images=())
    url = "https://mp.weixin.qq.com/s/ACC111"
    harvester(capsys, "fetch", url, "--refresh", "--archive", str(archive))
    assert query(archive, accounts) == [(BIZ, "神经科学")]


DATES = "SELECT published_at, year, date_source FROM articles"


def test_a_seed_imported_article_is_dated_by_its_seed_until_fetched(
    served, archive, capsys, tmp_path
):
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed = seed_file(folder, "第一篇", "HHH888", ())
    harvester(capsys, "import", str(folder), "--no-images", "--archive", str(archive))
    assert query(archive, DATES) == [("2026-01-26T08:00:16+08:00", 2026, "seed")]
    add_article(served, 118, short_id="HHH888", images=())
    harvester(
        capsys, "fetch", "https://mp.weixin.qq.com/s/HHH888", "--refresh", "--archive", str(archive)
    )
    page_date = [("2026-01-01T08:00:00+08:00", 2026, "page")]
    assert query(archive, DATES) == page_date
    harvester(capsys, "import", str(seed), "--no-images", "--archive", str(archive))
    assert query(archive, DATES) == page_date


def test_an_undated_archived_article_takes_its_seed_date_when_imported_again(
    archive, capsys, tmp_path
):
    seed = seed_file(tmp_path, "第一篇", "JJJ999", ())
    harvester(capsys, "import", str(seed), "--no-images", "--archive", str(archive))
    with sqlite3.connect(archive / "archive.db") as db:  # as archived before dates were kept
        db.execute("UPDATE articles SET published_at = NULL, year = NULL, date_source = NULL")
    harvester(capsys, "import", str(seed), "--no-images", "--archive", str(archive))
    assert query(archive, DATES) == [("2026-01-26T08:00:16+08:00", 2026, "seed")]


def test_rebuild_rewrites_markdown_from_raw_pages_without_network(served, archive, capsys):
    url = add_article(served, 117)
    harvester(capsys, "fetch", url, "--archive", str(archive))
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    original = (archive / md_path).read_bytes()
    (archive / md_path).write_text("damaged", encoding="utf-8")
    served.stop()
    code, out, _ = harvester(capsys, "rebuild", "--archive", str(archive))
    assert code == 0
    assert out.startswith("0 new, 1 updated")
    assert (archive / md_path).read_bytes() == original


def test_rebuild_of_a_folder_without_archive_is_a_usage_error(capsys, tmp_path):
    code, _, err = harvester(capsys, "rebuild", "--archive", str(tmp_path))
    assert code == 2
    assert (
        err == f"harvester: {tmp_path}: no archive here (no archive.db); archive something first\n"
    )


def test_database_is_consistent_after_a_mixed_run(served, archive, capsys):
    good = add_article(served, 118, images=("x1", "x2"))
    bad = add_article(served, 119, images=())
    served.fault(bad.split("?")[0] + "?__biz=" + BIZ + "&mid=119", "500")
    harvester(capsys, "fetch", good, bad, "--archive", str(archive))
    assert query(archive, "PRAGMA integrity_check") == [("ok",)]
    assert query(archive, "PRAGMA foreign_key_check") == []
    for (path,) in query(archive, "SELECT path FROM images"):
        assert (archive / path).is_file()


@pytest.mark.parametrize(
    ("fault", "params", "reason"),
    [
        ("drop", {}, "server closed the connection without answering after 4 attempts"),
        ("truncate", {}, "body truncated"),
        ("500", {}, "HTTP 500 after 4 attempts"),
        ("oversize", {"size": 21 * 2**20}, "body larger than 20 MB"),
    ],
)
def test_page_fault_fails_the_article_and_writes_nothing(
    served, archive, capsys, fault, params, reason
):
    url = add_article(served, 120, images=("p1",))
    served.fault("/s", fault, **params)
    code, _, err = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert code == 1
    assert err.startswith(f"harvester: {url}: ")
    assert reason in err
    assert query(archive, "SELECT count(*) FROM articles") == [(0,)]
    assert not any((archive / folder).exists() for folder in ("articles", "raw", "images"))


def test_page_answered_with_429_stops_the_run_with_exit_75(served, archive, capsys):
    url = add_article(served, 121, images=())
    served.fault("/s", "429", retry_after="3600")
    code, _, err = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert code == 75
    assert len(err.strip().splitlines()) == 1
    assert query(archive, "SELECT count(*) FROM articles") == [(0,)]


def test_slow_page_within_the_timeout_is_archived(served, archive, capsys):
    url = add_article(served, 122, images=())
    served.fault("/s", "slow", seconds=0.5)
    code, out, _ = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert (code, out.split(" (")[0]) == (0, "1 new, 0 updated, 0 unchanged, 0 deleted, 0 failed")


def test_truncated_image_is_retried_and_then_recorded_missing(served, archive, capsys):
    url = add_article(served, 123, images=("cut",))
    served.fault("/mmbiz_png/cut", "truncate")
    code, _, _ = harvester(capsys, "fetch", url, "--archive", str(archive))
    assert code == 1
    [(status, error)] = query(archive, "SELECT status, error FROM article_images")
    assert status == "missing"
    assert "body truncated" in error
    assert not list((archive / "images").rglob("*.png"))


def test_two_copies_of_one_article_settle_on_the_earliest_capture(
    served, archive, capsys, tmp_path
):
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "第一篇", "HHH888", ())
    older = (folder / "HHH888.md").read_text(encoding="utf-8").replace("2026-01-26", "2023-05-01")
    (folder / "HHH888-older.md").write_text(older, encoding="utf-8")
    harvester(capsys, "import", str(folder), "--archive", str(archive))
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    written = (archive / md_path).stat().st_mtime_ns
    code, out, _ = harvester(capsys, "import", str(folder), "--archive", str(archive))
    assert (code, out.split(" (")[0]) == (0, "0 new, 0 updated, 2 unchanged, 0 deleted, 0 failed")
    assert (archive / md_path).stat().st_mtime_ns == written
    assert "\nfetched: 2023-05-01T08:00:16+08:00\n" in (archive / md_path).read_text("utf-8")


def test_fetch_with_no_usable_link_exits_2_and_creates_no_archive(archive, capsys):
    code, out, err = harvester(capsys, "fetch", "https://example.com/a", "--archive", str(archive))
    assert (code, out) == (2, "")
    assert err == (
        "harvester: 'https://example.com/a' is not a WeChat article link: "
        "its host is example.com, not mp.weixin.qq.com\n"
    )
    assert not archive.exists()


def test_fetch_of_an_empty_stdin_says_no_links_were_given(archive, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, err = harvester(capsys, "fetch", "-", "--archive", str(archive))
    assert (code, out) == (2, "")
    assert err == "harvester: no links given (standard input had none)\n"
    assert not archive.exists()


def test_import_of_many_files_converts_in_parallel_to_the_same_files(archive, capsys, tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    paths = [seed_file(folder, f"第{n}篇", f"PAR{n:03d}", (f"img{n}",)) for n in range(40)]
    code, out, _ = harvester(
        capsys, "import", str(folder), "--no-images", "--archive", str(archive)
    )
    assert (code, out.split(" (")[0]) == (0, "40 new, 0 updated, 0 unchanged, 0 deleted, 0 failed")
    one_by_one = tmp_path / "one-by-one"
    for path in paths:
        harvester(capsys, "import", str(path), "--no-images", "--archive", str(one_by_one))

    def tree(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.md")}

    assert tree(archive) == tree(one_by_one)
    assert len(tree(archive)) == 40
    indexed = "SELECT key, title, body FROM articles_search ORDER BY key"
    assert query(archive, indexed) == query(one_by_one, indexed)
    images = "SELECT article_key, position, url, status FROM article_images ORDER BY 1, 2"
    assert query(archive, images) == query(one_by_one, images)
