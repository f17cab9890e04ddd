"""Hostile files and faults (issue 11, items 3-6 and 15): one bad input costs only itself,
named in one line, and the rest is done; what reaches a Markdown file, the front matter and
a Hugo site is always readable and safe. Files and archives are made by the tests; the CLI
runs as a real subprocess except where a test changes the program in process."""

from __future__ import annotations

import gzip
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from archive_builder import harvester
from fakewechat import make_article_html
from test_archiving import BIZ, CT, SN, add_article, image_url, query, seed_file
from test_harvest import urls_source, write_config
from test_hugo_export import needs_hugo, parse_page, run_hugo

from harvester import pipeline
from harvester.cli import main


def own_file(folder: Path, short_id: str, title: str, account: str = "号") -> Path:
    """One of the archive's own Markdown files; its front matter is YAML, `title` and
    `account` written into it as they are (YAML escapes included)."""
    path = folder / f"{short_id}.md"
    path.write_text(
        f'---\ntitle: "{title}"\naccount: "{account}"\nauthor: "\\u009f作者\\ufffe"\n'
        f'wechat_url: "https://mp.weixin.qq.com/s/{short_id}"\nwechat_kind: "article"\n'
        f'status: "live"\n---\n标题 by 号\n------\n\n正文。\n\n---\n\n'
        f"[原文链接](https://mp.weixin.qq.com/s/{short_id})\n",
        encoding="utf-8",
    )
    return path


def imported_seeds(archive: Path, folder: Path, articles: dict[str, str]) -> Path:
    """Seed files (short id → title) written in `folder` and imported by the CLI."""
    folder.mkdir()
    for short_id, title in articles.items():
        seed_file(folder, title, short_id, ())
    done = harvester("import", str(folder), "--no-images", "--archive", str(archive))
    assert done.returncode == 0, done.stderr
    return folder


def in_process(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def with_fault(*args: str, timeout: float = 120) -> tuple[int, str, str]:
    """The CLI in a subprocess whose converter fails for the article titled 坏 with an
    error no check foresaw (import's forked worker processes fail the same way)."""
    setup = textwrap.dedent(
        """
        import harvester.convert, harvester.pipeline

        def failing(convert):
            def converted(page, *args):
                if page.title == "坏":
                    raise RuntimeError("converter bug\\nsecond line")
                return convert(page, *args)
            return converted

        harvester.pipeline.render = failing(harvester.pipeline.render)
        harvester.convert.article_markdown = failing(harvester.convert.article_markdown)
        from harvester.cli import main
        main()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", setup, *args], capture_output=True, text=True, timeout=timeout
    )
    return done.returncode, done.stdout, done.stderr


def summary(out: str) -> str:
    return out.split(" (archive: ")[0]


# --------------------------------------------------------------------------- item 3


def test_an_archive_file_escaping_a_lone_surrogate_imports_with_readable_text(archive, tmp_path):
    folder = tmp_path / "own"
    folder.mkdir()
    own_file(folder, "OWN001", "坏\\ud800标题\\u007f\\u0085", account="号\\udfff")
    own_file(folder, "OWN002", "好")
    done = harvester("import", str(folder), "--no-images", "--archive", str(archive))
    assert (done.returncode, done.stderr, summary(done.stdout)) == (
        0,
        "",
        "2 new, 0 updated, 0 unchanged, 0 deleted, 0 failed",
    )
    assert query(archive, "SELECT key, title, account, author FROM articles ORDER BY key") == [
        ("s:OWN001", "坏\ufffd标题", "号\ufffd", "作者"),
        ("s:OWN002", "好", "号", "作者"),
    ]


def test_convert_of_an_archive_file_escaping_a_lone_surrogate_prints_it(tmp_path):
    path = own_file(tmp_path, "OWN003", "坏\\ud800")
    done = harvester("convert", str(path))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith('---\ntitle: "坏\ufffd"\n')


def test_an_error_no_check_foresaw_costs_only_its_file_in_import(archive, tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    bad = seed_file(folder, "坏", "BAD001", ())
    seed_file(folder, "好", "GOOD01", ())
    code, out, err = with_fault("import", str(folder), "--no-images", "--archive", str(archive))
    assert (code, err, summary(out)) == (
        1,
        f"harvester: {bad}: failed: RuntimeError: converter bug second line\n",
        "1 new, 0 updated, 0 unchanged, 0 deleted, 1 failed",
    )
    assert query(archive, "SELECT key FROM articles") == [("s:GOOD01",)]


def test_an_error_no_check_foresaw_costs_only_its_link_in_fetch(served, archive):
    bad = add_article(served, 301, title="坏", images=())
    good = add_article(served, 302, title="好", images=())
    code, out, err = with_fault("fetch", bad, good, "--archive", str(archive))
    assert (code, err, summary(out)) == (
        1,
        f"harvester: {bad}: failed: RuntimeError: converter bug second line\n",
        "1 new, 0 updated, 0 unchanged, 0 deleted, 1 failed",
    )
    assert query(archive, "SELECT mid FROM articles") == [("302",)]


def test_an_error_no_check_foresaw_costs_only_its_item_in_a_harvest(served, archive, tmp_path):
    bad = add_article(served, 303, title="坏", images=())
    good = add_article(served, 304, title="好", images=())
    config = write_config(tmp_path, urls_source(tmp_path, [bad, good]))
    code, out, err = with_fault("harvest", "--config", str(config), "--archive", str(archive))
    assert (code, out) == (1, "")
    failure = f"harvester: {bad}: failed: RuntimeError: converter bug second line"
    assert err.splitlines()[0] == failure
    assert query(archive, "SELECT mid FROM articles") == [("304",)]


def test_an_error_no_check_foresaw_in_a_worker_process_costs_only_its_file(archive, tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    for n in range(40):  # enough files for worker processes
        seed_file(folder, f"第{n}篇", f"MANY{n:02}", ())
    bad = seed_file(folder, "坏", "MANY99", ())
    code, out, err = with_fault("import", str(folder), "--no-images", "--archive", str(archive))
    assert (code, err, summary(out)) == (
        1,
        f"harvester: {bad}: failed: RuntimeError: converter bug second line\n",
        "40 new, 0 updated, 0 unchanged, 0 deleted, 1 failed",
    )


def test_an_error_no_check_foresaw_while_saving_costs_only_its_file(
    archive, tmp_path, capsys, monkeypatch
):
    real = pipeline.save

    def save(archive, capture, *args, **kwargs):
        if capture.page.title == "坏":
            raise KeyError("nothing")
        return real(archive, capture, *args, **kwargs)

    monkeypatch.setattr(pipeline, "save", save)
    folder = tmp_path / "seeds"
    folder.mkdir()
    bad = seed_file(folder, "坏", "BAD002", ())
    seed_file(folder, "好", "GOOD02", ())
    code, out, err = in_process(
        capsys, "import", str(folder), "--no-images", "--archive", str(archive)
    )
    assert (code, err, summary(out)) == (
        1,
        f"harvester: {bad}: failed: KeyError: 'nothing'\n",
        "1 new, 0 updated, 0 unchanged, 0 deleted, 1 failed",
    )


def test_an_error_no_check_foresaw_costs_only_its_file_in_convert(tmp_path):
    bad = seed_file(tmp_path, "坏", "BAD003", ())
    good = seed_file(tmp_path, "好", "GOOD03", ())
    code, out, err = with_fault("convert", str(bad), str(good))
    assert (code, err) == (
        1,
        f"harvester: {bad}: failed: RuntimeError: converter bug second line\n",
    )
    assert out.startswith('---\ntitle: "好"\n')


def test_a_database_error_is_not_taken_for_one_files_failure(archive, tmp_path, monkeypatch):
    def save(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(pipeline, "save", save)
    folder = tmp_path / "seeds"
    folder.mkdir()
    seed_file(folder, "好", "GOOD04", ())
    with pytest.raises(sqlite3.OperationalError):
        main(["import", str(folder), "--no-images", "--archive", str(archive)])


# --------------------------------------------------------------------------- item 6


@pytest.fixture
def three_pages(archive: Path, tmp_path: Path) -> dict[int, tuple[str, Path, Path]]:
    """An archive of three saved pages imported by the CLI: mid → (key, raw, Markdown)."""
    pages = tmp_path / "pages"
    pages.mkdir()
    for mid in (1, 2, 3):
        body = f"<p><span leaf>正文{mid}。</span></p>"
        html = make_article_html(f"标题{mid}", "号", BIZ, mid, 1, SN, CT, body)
        (pages / f"{mid}.html").write_text(html, encoding="utf-8")
    done = harvester("import", str(pages), "--no-images", "--archive", str(archive))
    assert done.returncode == 0, done.stderr
    rows = query(archive, "SELECT key, raw_path, md_path FROM articles ORDER BY key")
    return {n: (key, archive / raw, archive / md) for n, (key, raw, md) in enumerate(rows, 1)}


def test_rebuild_names_a_truncated_raw_capture_and_rebuilds_the_rest(archive, three_pages):
    key, raw, markdown = three_pages[2]
    kept = markdown.read_bytes()
    raw.write_bytes(raw.read_bytes()[:-40])
    done = harvester("rebuild", "--archive", str(archive))
    relpath = raw.relative_to(archive)
    assert (done.returncode, done.stderr, summary(done.stdout)) == (
        1,
        f"harvester: {key}: {relpath}: truncated (its gzip stream ends early)\n",
        "0 new, 0 updated, 2 unchanged, 0 deleted, 1 failed",
    )
    assert markdown.read_bytes() == kept


def test_rebuild_names_a_raw_capture_that_is_not_gzip(archive, three_pages):
    key, raw, _ = three_pages[1]
    raw.write_bytes(b"not gzip at all")
    done = harvester("rebuild", "--archive", str(archive))
    assert (done.returncode, done.stderr, summary(done.stdout)) == (
        1,
        f"harvester: {key}: {raw.relative_to(archive)}: "
        "damaged, not a gzip stream (Not a gzipped file (b'no'))\n",
        "0 new, 0 updated, 2 unchanged, 0 deleted, 1 failed",
    )


def test_a_raw_capture_with_an_invalid_utf8_byte_is_rebuilt_with_it_replaced(archive, three_pages):
    _, raw, markdown = three_pages[3]
    page = gzip.decompress(raw.read_bytes())
    raw.write_bytes(gzip.compress(page.replace("正文3".encode(), b"\xff" + "正文3".encode())))
    done = harvester("rebuild", "--archive", str(archive))
    assert (done.returncode, done.stderr, summary(done.stdout)) == (
        0,
        "",
        "0 new, 1 updated, 2 unchanged, 0 deleted, 0 failed",
    )
    assert "\ufffd正文3。" in markdown.read_text("utf-8")


def test_a_raw_capture_cut_before_its_closing_html_names_the_file(archive, three_pages):
    key, raw, _ = three_pages[1]
    page = gzip.decompress(raw.read_bytes())
    raw.write_bytes(gzip.compress(page[: page.index(b"</body>")]))
    done = harvester("rebuild", "--archive", str(archive))
    assert (done.returncode, done.stderr) == (
        1,
        f"harvester: {key}: {raw.relative_to(archive)}: "
        "truncated page: it has <html> but no closing </html>\n",
    )


# --------------------------------------------------------------------------- item 4

HOSTILE = "\x7f\x85\x9f\ufffe\uffff"  # DEL, C1 controls, noncharacters


def hostile_seed(folder: Path) -> Path:
    """A seed whose title, account and author hold DEL, C1 controls and noncharacters,
    as they are and as JSON escapes."""
    path = folder / "HOST01.md"
    path.write_text(
        f'---\ntitle: "种{HOSTILE}子\\u007f\\u0085\\ufffe"\ndate: 2026-01-26T00:00:16Z\n'
        f'author: "\\u009f作{HOSTILE}者\\uffff"\ntags: ["fetched", "号{HOSTILE}"]\n---\n'
        f"种子 by 号\n------\n<div><p><span leaf>正文。</span></p></div>\n<hr>\n"
        '<a href="https://mp.weixin.qq.com/s/HOST01",target="_blank" '
        'rel="noopener noreferrer">原文链接</a>\n',
        encoding="utf-8",
    )
    return path


def built_titles(public: Path) -> list[str]:
    """The h1 of every article page Hugo built, in path order."""
    pages = sorted(public.glob("posts/*/*/*/index.html"))
    return [title for page in pages for title in parse_page(page).h1]


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text("utf-8").split("---\n")[1])


@needs_hugo
def test_hostile_characters_from_a_seed_and_a_fetched_page_reach_hugo_readable(
    served, archive, tmp_path
):
    folder = tmp_path / "seeds"
    folder.mkdir()
    hostile_seed(folder)
    body = "<p><span leaf>网页正文。</span></p>"
    page = make_article_html(
        f"网{HOSTILE}页", f"号{HOSTILE}", BIZ, 7, 1, SN, CT, body, author=f"作{HOSTILE}者"
    )
    url = served.add_article(BIZ, 7, 1, SN, page)
    site, public = tmp_path / "site", tmp_path / "public"
    steps = [
        harvester("import", str(folder), "--no-images", "--archive", str(archive)),
        harvester("fetch", url, "--archive", str(archive)),
        harvester("export", "hugo", str(site), "--archive", str(archive)),
    ]
    assert [(step.returncode, step.stderr) for step in steps] == [(0, "")] * 3
    assert query(archive, "SELECT title, account, author FROM articles ORDER BY key") == [
        ("网页", "号", "作者"),
        ("种子", "号", "作者"),
    ]
    pages = sorted((site / "content").rglob("*.md"))
    archived = sorted((archive / "articles").rglob("*.md"))
    assert [front_matter(path)["title"] for path in archived + pages] == ["网页", "种子"] * 2
    hugo = run_hugo(site, public)
    assert (hugo.returncode, hugo.stderr) == (0, "")
    assert built_titles(public) == ["网页", "种子"]


def test_export_names_an_article_it_cannot_read_and_exports_the_rest(archive, tmp_path):
    imported_seeds(archive, tmp_path / "seeds", {"EXP001": "坏", "EXP002": "好"})
    [(md_path,)] = query(archive, "SELECT md_path FROM articles WHERE key = 's:EXP001'")
    (archive / md_path).write_text('---\ntitle: "未闭合\n---\n正文\n', encoding="utf-8")
    site = tmp_path / "site"
    done = harvester("export", "hugo", str(site), "--archive", str(archive))
    assert done.returncode == 1
    assert done.stderr == (
        f"harvester: s:EXP001: {md_path}: front matter is not valid YAML: "
        "found unexpected end of stream (line 3)\n"
    )
    assert done.stdout.startswith(f"Exported 1 articles to {site} (1 written,")
    assert [front_matter(path)["title"] for path in (site / "content").rglob("*.md")] == ["好"]


def test_export_names_an_article_whose_page_it_cannot_write_and_exports_the_rest(archive, tmp_path):
    imported_seeds(archive, tmp_path / "seeds", {"EXP003": "坏", "EXP004": "好"})
    site = tmp_path / "site"
    assert harvester("export", "hugo", str(site), "--archive", str(archive)).returncode == 0
    [bad] = [path for path in (site / "content").rglob("*.md") if "坏" in path.name]
    bad.unlink()
    bad.mkdir()  # a folder where the page must go
    done = harvester("export", "hugo", str(site), "--archive", str(archive))
    relpath = bad.relative_to(site)
    assert (done.returncode, done.stderr) == (
        1,
        f"harvester: s:EXP003: {relpath}: not written: Is a directory\n",
    )


# --------------------------------------------------------------------------- item 5

HOSTILE_ACCOUNTS = ["..", ".", "/", "", "长" * 100, "a" * 300, "../../etc", "CON"]


def account_seed(folder: Path, number: int, account: str) -> Path:
    path = folder / f"ACC{number:03}.md"
    path.write_text(
        f'---\ntitle: "第{number}篇"\ndate: 2026-01-26T00:00:16Z\n'
        f'tags: ["fetched", "{account}"]\ncategories: ["{account}"]\n---\n'
        f"第{number}篇 by {account}\n------\n<div><p><span leaf>正文。</span></p></div>\n<hr>\n"
        f'<a href="https://mp.weixin.qq.com/s/ACC{number:03}",target="_blank" '
        'rel="noopener noreferrer">原文链接</a>\n',
        encoding="utf-8",
    )
    return path


def longest_name(root: Path) -> int:
    """The longest file or folder name under `root`, in UTF-8 bytes."""
    return max(len(path.name.encode("utf-8")) for path in root.rglob("*"))


def listing(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


@needs_hugo
def test_hostile_account_names_give_bounded_paths_inside_and_hugo_builds_the_site(
    archive, tmp_path
):
    folder = tmp_path / "seeds"
    folder.mkdir()
    for number, account in enumerate(HOSTILE_ACCOUNTS):
        account_seed(folder, number, account)
    around = listing(tmp_path.parent)
    site, public = tmp_path / "site", tmp_path / "public"
    steps = [
        harvester("import", str(folder), "--no-images", "--archive", str(archive)),
        harvester("export", "hugo", str(site), "--archive", str(archive)),
    ]
    assert [(step.returncode, step.stderr) for step in steps] == [(0, "")] * 2
    hugo = run_hugo(site, public)
    assert (hugo.returncode, hugo.stderr) == (0, "")
    count = len(HOSTILE_ACCOUNTS)
    assert sorted(built_titles(public)) == sorted(f"第{n}篇" for n in range(count))
    assert (listing(tmp_path), listing(tmp_path.parent)) == (
        {"seeds", "archive", "site", "public", "hugo-cache"},
        around,
    )
    md_paths = [md for (md,) in query(archive, "SELECT md_path FROM articles")]
    assert len(md_paths) == count and all(md.startswith("articles/") for md in md_paths)
    assert max(longest_name(root) for root in (archive, site, public)) <= 255


# --------------------------------------------------------------------------- item 15

PADDING = "填充。" * 3000  # the NUL comes after the 8 KB decode_source looks at for binary


def files_with_nul(folder: Path) -> list[str]:
    return [path.name for path in folder.rglob("*.md") if b"\x00" in path.read_bytes()]


def test_no_raw_nul_reaches_a_markdown_file(archive, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    own = own_file(folder, "NUL001", "有空字符")
    own.write_text(own.read_text("utf-8").replace("正文。", f"{PADDING}\n\n坏\x00字"), "utf-8")
    seed = seed_file(folder, "种子", "NUL002", ())
    seed.write_text(seed.read_text("utf-8").replace("的正文。", f"{PADDING}坏\x00字"), "utf-8")
    page = make_article_html("网页", "号", BIZ, 9, 1, SN, CT, f"<p>{PADDING}坏\x00字</p>")
    (folder / "page.html").write_text(page, encoding="utf-8")
    done = harvester("import", str(folder), "--no-images", "--archive", str(archive))
    assert (done.returncode, done.stderr, summary(done.stdout)) == (
        0,
        "",
        "3 new, 0 updated, 0 unchanged, 0 deleted, 0 failed",
    )
    assert files_with_nul(archive) == []
    converted = harvester("convert", str(own))
    assert (converted.returncode, "\x00" in converted.stdout) == (0, False)
    assert "坏\ufffd字" in converted.stdout


def test_a_truncated_jpeg_is_recorded_missing_not_archived(served, archive):
    whole, cut = image_url("whole"), image_url("cut")
    served.add_image(whole, fmt="jpeg")
    jpeg = served.add_image(cut, fmt="jpeg", size=(320, 240))
    served.add_image(cut, data=jpeg[: len(jpeg) // 2], content_type="image/jpeg")
    body = "<p><span leaf>图片。</span></p>"
    page = make_article_html("半张图", "号", BIZ, 11, 1, SN, CT, body, [whole, cut])
    url = served.add_article(BIZ, 11, 1, SN, page)
    done = harvester("fetch", url, "--archive", str(archive))
    assert (done.returncode, done.stderr, summary(done.stdout)) == (
        1,
        "",
        "1 new, 0 updated, 0 unchanged, 0 deleted, 0 failed; images: 1 stored, 1 missing",
    )
    rows = query(archive, "SELECT url, sha256 IS NULL, error FROM article_images ORDER BY url")
    assert [(row[0], row[1]) for row in rows] == [(cut, 1), (whole, 0)]
    assert rows[0][2].startswith(
        f"{cut}: a truncated or damaged image (jpg: image file is truncated"
    )
    assert len(list((archive / "images").rglob("*.jpg"))) == 1


def runs(archive: Path) -> list[tuple]:
    return query(archive, "SELECT id, command, outcome, message FROM runs ORDER BY id")


def is_running(archive: Path) -> bool:
    """Whether a run is recorded as running (the index may not be made yet)."""
    if not (archive / "archive.db").exists():  # connecting would make an empty one
        return False
    try:
        return bool(query(archive, "SELECT id FROM runs WHERE outcome = 'running'"))
    except sqlite3.OperationalError:  # its tables are being made
        return False


def test_an_import_killed_outright_is_marked_interrupted_by_the_next_command(
    fake_wechat, archive, tmp_path, monkeypatch
):
    monkeypatch.setenv("HARVESTER_RELAY", fake_wechat.relay_env())
    monkeypatch.setenv("HARVESTER_RATE", "1000")
    fake_wechat.latency = 0.2  # each image takes a while: the import is still running
    folder = tmp_path / "seeds"
    folder.mkdir()
    for number in range(20):
        fake_wechat.add_image(image_url(f"slow{number}"))
        seed_file(folder, f"第{number}篇", f"KIL{number:03}", (f"slow{number}",))
    command = [sys.executable, "-c", "from harvester.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "import", str(folder), "--archive", str(archive)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not is_running(archive):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()
    assert runs(archive) == [(1, "import", "running", None)]
    done = harvester("rebuild", "--archive", str(archive))
    assert done.returncode == 0, done.stderr
    assert runs(archive) == [
        (
            1,
            "import",
            "interrupted",
            f"interrupted: process {process.pid} ended before finishing the run (killed?)",
        ),
        (2, "rebuild", "ok", None),
    ]


def test_a_run_whose_process_is_alive_stays_running(archive, tmp_path, capsys):
    imported_seeds(archive, tmp_path / "seeds", {"LIV001": "好"})
    with sqlite3.connect(archive / "archive.db") as db:
        db.execute(
            "INSERT INTO runs (started_at, command, outcome, pid) "
            "VALUES ('2026-01-01T00:00:00+00:00', 'import', 'running', ?)",
            [os.getpid()],  # this test's process: alive
        )
    code, _, _ = in_process(capsys, "rebuild", "--archive", str(archive))
    assert (code, [row[2] for row in runs(archive)]) == (0, ["ok", "running", "ok"])


def leftovers(archive: Path) -> dict[str, Path]:
    """An old and a fresh `.tmp-*.part` in each folder the archive writes."""
    made = {}
    an_hour_ago = time.time() - 3600
    for folder in ("articles/号/2026", "images/ab", "raw/biz/1_1"):
        (archive / folder).mkdir(parents=True, exist_ok=True)
        old, fresh = archive / folder / ".tmp-old.part", archive / folder / ".tmp-new.part"
        old.write_bytes(b"half a file")
        fresh.write_bytes(b"being written")
        os.utime(old, (an_hour_ago, an_hour_ago))
        made[f"{folder}/old"], made[f"{folder}/fresh"] = old, fresh
    return made


@pytest.mark.parametrize("command", ["import", "rebuild", "fetch"])
def test_temporary_files_killed_writes_left_are_swept_by_every_writing_command(
    served, archive, tmp_path, command
):
    folder = imported_seeds(archive, tmp_path / "seeds", {"TMP001": "好"})
    made = leftovers(archive)
    page = make_article_html("网页", "号", BIZ, 13, 1, SN, CT, "<p><span leaf>正文。</span></p>")
    arguments = {
        "import": ["import", str(folder), "--no-images"],
        "rebuild": ["rebuild"],
        "fetch": ["fetch", served.add_article(BIZ, 13, 1, SN, page)],
    }[command]
    done = harvester(*arguments, "--archive", str(archive))
    assert done.returncode == 0, done.stderr
    assert {name for name, path in made.items() if path.exists()} == {
        name for name in made if name.endswith("fresh")
    }
