"""`export_hugo`: a Hugo site tree from an archive built with the real archive functions.

The archive (build_archive) holds self-written Chinese articles over two accounts and two
years, images made with Pillow and stored content-addressed (one shared by two articles,
one left remote), an article deleted after it was archived, one known only as blocked
(never archived), one whose title is full of quotes, colons and slashes, and one whose
code block looks like Hugo shortcodes. Tests that build the site run Debian's `hugo`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from PIL import Image

from archive.files import store_image, write_file
from archive.frontmatter import split_front_matter
from archive.hugo import export_hugo
from archive.hugo_manifest import MANIFEST_NAME
from archive.index import ImageEntry, mark_status, open_index, save_article, save_images
from archive.names import article_relpath, page_relpath
from harvester.document import render_article
from harvester.errors import InputError
from harvester.model import Page

CST = timezone(timedelta(hours=8))
FETCHED = datetime(2026, 3, 1, 12, 0, tzinfo=CST)
REMOTE_IMAGE = "https://mmbiz.qpic.cn/sz_mmbiz_png/remoteOnly/640?wx_fmt=png"
HOSTILE_TITLE = '他说："Go/Rust: 谁更快?" \\ 第1/2部分 <b>&amp;</b>'
SHORTCODE_TEXT = "{{< youtube abc >}} 与 {{% note %}}"
HUGO = shutil.which("hugo")
needs_hugo = pytest.mark.skipif(HUGO is None, reason="hugo is not installed (shutil.which)")


def png(color: tuple[int, int, int], size: tuple[int, int] = (12, 8), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


@dataclass
class Article:
    key: str
    title: str
    account: str
    published_at: datetime
    images: list[bytes]  # the stored images the body shows, in order
    status: str = "live"

    @property
    def site_relpath(self) -> str:
        return page_relpath(self.account, self.published_at, self.title, self.key)

    @property
    def url_path(self) -> str:
        """The built page's folder under PUBLIC (the content path without .md)."""
        return self.site_relpath.removeprefix("content/").removesuffix(".md")


def archive_article(
    root: Path,
    db,
    *,
    mid: str,
    title: str,
    account: str,
    published_at: datetime,
    paragraphs: list[str],
    images: list[bytes],
    remote_images: tuple[str, ...] = (),
    categories: tuple[str, ...] = ("学术",),
) -> Article:
    """Archive one article the way the harvester does: images, Markdown file, then rows."""
    biz = "MzkxODY4NDEwMA=="
    page = Page(
        kind="article",
        title=title,
        account=account,
        author="编辑部",
        published_at=published_at,
        url=f"https://mp.weixin.qq.com/s?__biz={biz}&mid={mid}&idx=1&sn=abc{mid}",
        short_url=f"https://mp.weixin.qq.com/s/short{mid}",
        biz=biz,
        mid=mid,
        idx="1",
        sn=f"abc{mid}",
        cover=REMOTE_IMAGE,
        digest=f"{title}的摘要",
        original=True,
        fetched_at=FETCHED,
        categories=list(categories),
    )
    key = page.key
    md_path = article_relpath(account, published_at, title, key)
    folder = (root / md_path).parent
    lines, entries = [], []
    for position, data in enumerate(images):
        stored = store_image(root, data)
        relative = os.path.relpath(root / stored.relpath, folder)
        lines.append(f"![图{position + 1}]({relative})")
        entries.append(ImageEntry(position, f"https://mmbiz.qpic.cn/{mid}/{position}", stored))
    for offset, url in enumerate(remote_images, start=len(entries)):
        lines.append(f"![远程图]({url})")
        entries.append(ImageEntry(offset, url, None, error="not downloaded"))
    body = "\n\n".join(["## 引言", *paragraphs, *lines])
    text = render_article(page, body, categories=list(categories))
    write_file(root, md_path, text.encode("utf-8"))
    save_article(
        db,
        page,
        key=key,
        md_path=md_path,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        body_text=body,
        raw_path=None,
        fetched_at=FETCHED,
    )
    save_images(db, key, entries)
    return Article(key, title, account, published_at, list(images))


@dataclass
class Built:
    root: Path
    articles: dict[str, Article]  # by a short name


def build_archive(root: Path) -> Built:
    """An archive of five exported articles and one known only as blocked."""
    red, green, blue = png((200, 30, 30)), png((30, 200, 30)), png((30, 30, 200), fmt="JPEG")
    gif = png((240, 200, 0), (5, 5), fmt="GIF")
    db = open_index(root / "archive.db")
    try:
        articles = {
            "neuro": archive_article(
                root,
                db,
                mid="2247490001",
                title="神经修复与再生",
                account="神经科学前沿",
                published_at=datetime(2026, 1, 26, 8, 0, 16, tzinfo=CST),
                paragraphs=["神经修复与再生是一个**极其复杂**的过程。", "- 周围神经\n- 中枢神经"],
                images=[red, blue],
                remote_images=(REMOTE_IMAGE,),
            ),
            "pain": archive_article(
                root,
                db,
                mid="2247490002",
                title="疼痛的急转慢",
                account="神经科学前沿",
                published_at=datetime(2025, 12, 30, 21, 5, tzinfo=CST),
                paragraphs=[
                    "急性疼痛如何变成慢性疼痛？",
                    "| 阶段 | 时间 |\n|---|---|\n| 急性 | 数天 |",
                ],
                images=[red, gif],
            ),
            "hostile": archive_article(
                root,
                db,
                mid="2247490003",
                title=HOSTILE_TITLE,
                account="Go 夜读",
                published_at=datetime(2026, 2, 3, 7, 30, tzinfo=CST),
                paragraphs=["标题里有引号、冒号和斜杠。"],
                images=[green],
            ),
            "shortcode": archive_article(
                root,
                db,
                mid="2247490004",
                title="Hugo 短代码入门",
                account="Go 夜读",
                published_at=datetime(2026, 2, 10, 9, 0, tzinfo=CST),
                paragraphs=["在模板里这样写：", f"```\n{SHORTCODE_TEXT}\n```"],
                images=[],
            ),
            "deleted": archive_article(
                root,
                db,
                mid="2247490005",
                title="已删除的旧文",
                account="神经科学前沿",
                published_at=datetime(2025, 6, 1, 10, 0, tzinfo=CST),
                paragraphs=["这篇文章后来被作者删除了。"],
                images=[green],
            ),
        }
        mark_status(db, articles["deleted"].key, "deleted", FETCHED + timedelta(days=1))
        articles["deleted"].status = "deleted"
        blocked = Page(kind="blocked", biz="MzkxODY4NDEwMA==", mid="2247490006", idx="1")
        save_article(
            db,
            blocked,
            key=blocked.key,
            md_path=None,
            content_hash=None,
            body_text=None,
            raw_path=None,
            fetched_at=FETCHED,
        )
    finally:
        db.close()
    return Built(root, articles)


class PageParser(HTMLParser):
    """The h1 and h2 texts, <img src> values and all text of a built page."""

    def __init__(self) -> None:
        super().__init__()
        self.h1: list[str] = []
        self.h2: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2"):
            self._heading = getattr(self, tag)
            self._heading.append("")
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag in ("h1", "h2"):
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading[-1] += data


def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text("utf-8"))
    return parser


def run_hugo(site: Path, public: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUGO, "--minify=false", "-s", str(site), "-d", str(public)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HUGO_CACHEDIR": str(site.parent / "hugo-cache")},
    )


def mtimes(folder: Path) -> dict[str, int]:
    return {
        str(path.relative_to(folder)): path.stat().st_mtime_ns
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def front_matter_of(path: Path) -> dict:
    return yaml.safe_load(path.read_text("utf-8").split("---\n")[1])


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return build_archive(tmp_path / "archive")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture(scope="module")
def hugo_site(tmp_path_factory: pytest.TempPathFactory):
    """One archive exported and built by hugo: (built, site, public, hugo's process)."""
    if HUGO is None:
        pytest.skip("hugo is not installed (shutil.which)")
    base = tmp_path_factory.mktemp("hugo")
    archive = build_archive(base / "archive")
    site, public = base / "site", base / "public"
    export_hugo(archive.root, site)
    return archive, site, public, run_hugo(site, public)


# --- the built site -----------------------------------------------------------------------


@needs_hugo
def test_hugo_builds_the_export_with_exit_0(hugo_site):
    _, _, _, process = hugo_site
    assert process.returncode == 0, process.stderr


@needs_hugo
def test_hugo_prints_no_warnings_or_errors(hugo_site):
    _, _, _, process = hugo_site
    lines = (process.stdout + process.stderr).splitlines()
    assert [line for line in lines if "WARN" in line or "ERROR" in line] == []


@needs_hugo
def test_every_article_is_a_page_showing_its_title(hugo_site):
    built, _, public, _ = hugo_site
    titles = {
        name: parse_page(public / article.url_path / "index.html").h1
        for name, article in built.articles.items()
    }
    assert titles == {name: [article.title] for name, article in built.articles.items()}


@needs_hugo
def test_hostile_title_byline_renders_as_written(hugo_site):
    built, _, public, _ = hugo_site
    page = parse_page(public / built.articles["hostile"].url_path / "index.html")
    assert page.h2[0] == f"{HOSTILE_TITLE} by Go 夜读"


@needs_hugo
def test_built_pages_load_their_images_from_the_site(hugo_site):
    built, _, public, _ = hugo_site
    for article in built.articles.values():
        sources = parse_page(public / article.url_path / "index.html").images
        local = [src for src in sources if not src.startswith("https://")]
        folder = posixpath.join("/", article.url_path) + "/"
        served = []
        for src in local:
            path = posixpath.normpath(posixpath.join(folder, unquote(urlsplit(src).path)))
            served.append((public / path.lstrip("/")).read_bytes())
        assert served == article.images, article.title


@needs_hugo
def test_images_that_were_not_downloaded_stay_remote(hugo_site):
    built, _, public, _ = hugo_site
    sources = parse_page(public / built.articles["neuro"].url_path / "index.html").images
    assert [src for src in sources if src.startswith("https://")] == [REMOTE_IMAGE]


@needs_hugo
def test_tag_and_category_taxonomy_pages_exist(hugo_site):
    _, _, public, _ = hugo_site
    pages = [
        "tags/index.html",
        "tags/fetched/index.html",
        "tags/神经科学前沿/index.html",
        "tags/go-夜读/index.html",
        "categories/index.html",
        "categories/学术/index.html",
    ]
    assert [page for page in pages if not (public / page).is_file()] == []


@needs_hugo
def test_category_page_links_every_article(hugo_site):
    built, _, public, _ = hugo_site
    text = "".join(parse_page(public / "categories/学术/index.html").text)
    assert [a.title for a in built.articles.values() if a.title not in text] == []


@needs_hugo
def test_deleted_article_page_says_it_was_deleted(hugo_site):
    built, _, public, _ = hugo_site
    text = "".join(parse_page(public / built.articles["deleted"].url_path / "index.html").text)
    assert "存档说明：该内容已被发布者删除（status: deleted）" in text


@needs_hugo
def test_shortcode_like_text_is_shown_literally(hugo_site):
    built, _, public, _ = hugo_site
    text = "".join(parse_page(public / built.articles["shortcode"].url_path / "index.html").text)
    assert SHORTCODE_TEXT in text


# --- the exported tree -----------------------------------------------------------------


def test_export_layout_is_one_page_per_article_under_content_posts(built, site):
    export_hugo(built.root, site)
    pages = sorted(str(p.relative_to(site)) for p in (site / "content").rglob("*.md"))
    assert pages == sorted(article.site_relpath for article in built.articles.values())


def test_page_path_is_account_year_date_slug_hash(built, site):
    neuro = built.articles["neuro"]
    hash8 = hashlib.sha256(neuro.key.encode()).hexdigest()[:8]
    assert (
        neuro.site_relpath
        == f"content/posts/神经科学前沿/2026/2026-01-26-神经修复与再生-{hash8}.md"
    )


def test_hostile_title_becomes_a_plain_slug(built):
    hostile = built.articles["hostile"]
    hash8 = hashlib.sha256(hostile.key.encode()).hexdigest()[:8]
    expected = (
        f"content/posts/go-夜读/2026/2026-02-03-他说-go-rust-谁更快-第1-2部分-b-amp-b-{hash8}.md"
    )
    assert hostile.site_relpath == expected


def test_front_matter_has_the_seed_keys_first(built, site):
    export_hugo(built.root, site)
    text = (site / built.articles["neuro"].site_relpath).read_text("utf-8")
    assert text.splitlines()[:6] == [
        "---",
        'title: "神经修复与再生"',
        "date: 2026-01-26T08:00:16+08:00",
        "draft: false",
        'tags: ["fetched", "神经科学前沿"]',
        'categories: ["学术"]',
    ]


def test_front_matter_keeps_archive_fields_and_renames_hugo_reserved_ones(built, site):
    export_hugo(built.root, site)
    meta = front_matter_of(site / built.articles["neuro"].site_relpath)
    assert {k: meta.get(k) for k in ("account", "wechat_url", "wechat_kind", "status", "url")} == {
        "account": "神经科学前沿",
        "wechat_url": (
            "https://mp.weixin.qq.com/s?__biz=MzkxODY4NDEwMA==&mid=2247490001&idx=1&sn=abc2247490001"
        ),
        "wechat_kind": "article",
        "status": "live",
        "url": None,
    }
    assert "kind" not in meta


def test_hostile_title_round_trips_through_front_matter(built, site):
    export_hugo(built.root, site)
    assert front_matter_of(site / built.articles["hostile"].site_relpath)["title"] == HOSTILE_TITLE


def test_deleted_article_is_exported_with_its_status(built, site):
    export_hugo(built.root, site)
    assert front_matter_of(site / built.articles["deleted"].site_relpath)["status"] == "deleted"


def test_image_links_become_site_root_paths(built, site):
    export_hugo(built.root, site)
    page = (site / built.articles["pain"].site_relpath).read_text("utf-8")
    shas = [hashlib.sha256(data).hexdigest() for data in built.articles["pain"].images]
    links = [line for line in page.splitlines() if line.startswith("![")]
    assert links == [
        f"![图1](/images/{shas[0][:2]}/{shas[0]}.png)",
        f"![图2](/images/{shas[1][:2]}/{shas[1]}.gif)",
    ]


def test_images_are_placed_under_static_images_once_each(built, site):
    export_hugo(built.root, site)
    placed = sorted(str(p.relative_to(site / "static")) for p in (site / "static").rglob("*.*"))
    expected = set()
    for article in built.articles.values():
        for data in article.images:
            sha = hashlib.sha256(data).hexdigest()
            ext = {b"\x89P": "png", b"\xff\xd8": "jpg", b"GI": "gif"}[data[:2]]
            expected.add(f"images/{sha[:2]}/{sha}.{ext}")
    assert placed == sorted(expected)


def test_an_svg_that_could_run_code_stored_by_an_older_version_is_never_published(built, site):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    sha = hashlib.sha256(svg).hexdigest()
    write_file(built.root, f"images/{sha[:2]}/{sha}.svg", svg)
    db = open_index(built.root / "archive.db")
    [md_path] = [
        row["md_path"]
        for row in db.query(
            "SELECT md_path FROM articles WHERE key = ?", [built.articles["pain"].key]
        )
    ]
    db.close()
    markdown = built.root / md_path
    folder_up = "../" * (md_path.count("/"))
    markdown.write_text(
        markdown.read_text("utf-8") + f"\n![脚本图]({folder_up}images/{sha[:2]}/{sha}.svg)\n",
        "utf-8",
    )
    summary = export_hugo(built.root, site)
    assert not (site / "static" / "images" / sha[:2] / f"{sha}.svg").exists()
    assert str(summary).endswith("; 1 SVG image that could run code not published")


def test_summary_line_of_a_first_export(built, site):
    summary = export_hugo(built.root, site)
    assert str(summary) == (
        f"Exported 5 articles to {site} (5 written, 0 unchanged, 0 removed), 4 images"
        "; 1 known only by status, without text, not exported"
    )


def test_new_site_gets_a_config_and_layouts(built, site):
    summary = export_hugo(built.root, site)
    assert summary.scaffold == [
        "hugo.toml",
        "layouts/_default/baseof.html",
        "layouts/_default/single.html",
        "layouts/_default/list.html",
        "layouts/index.html",
    ]


def test_generated_config_renders_markdown_without_raw_html(built, site):
    export_hugo(built.root, site)
    assert "[markup.goldmark.renderer]\n  unsafe = false\n" in (site / "hugo.toml").read_text()


def test_existing_config_is_kept_and_no_layouts_are_added(built, site):
    site.mkdir()
    (site / "config.toml").write_text('theme = "mine"\n')
    summary = export_hugo(built.root, site)
    assert (summary.scaffold, (site / "config.toml").read_text(), (site / "layouts").exists()) == (
        [],
        'theme = "mine"\n',
        False,
    )


# --- incremental -------------------------------------------------------------------------


def test_second_export_writes_nothing(built, site):
    export_hugo(built.root, site)
    summary = export_hugo(built.root, site)
    assert (summary.written, summary.unchanged, summary.removed, summary.images_copied) == (
        0,
        5,
        0,
        0,
    )


def test_second_export_leaves_every_mtime_unchanged(built, site):
    export_hugo(built.root, site)
    before = mtimes(site)
    export_hugo(built.root, site)
    assert mtimes(site) == before


def test_changed_article_is_the_only_one_rewritten(built, site):
    export_hugo(built.root, site)
    before = mtimes(site)
    pain = built.articles["pain"]
    db = open_index(built.root / "archive.db")
    try:
        archive_article(
            built.root,
            db,
            mid="2247490002",
            title=pain.title,
            account=pain.account,
            published_at=pain.published_at,
            paragraphs=["急性疼痛如何变成慢性疼痛？（修订版）"],
            images=pain.images,
        )
    finally:
        db.close()
    summary = export_hugo(built.root, site)
    after = mtimes(site)
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert (summary.written_paths, changed) == ([pain.site_relpath], [pain.site_relpath])


def test_status_change_rewrites_the_page(built, site):
    export_hugo(built.root, site)
    db = open_index(built.root / "archive.db")
    try:
        mark_status(db, built.articles["neuro"].key, "blocked", FETCHED + timedelta(days=2))
    finally:
        db.close()
    summary = export_hugo(built.root, site)
    meta = front_matter_of(site / built.articles["neuro"].site_relpath)
    assert (summary.written, meta["status"]) == (1, "blocked")


def remove_from_archive(root: Path, key: str) -> None:
    db = open_index(root / "archive.db")
    try:
        with db.conn:
            for table, column in (
                ("article_images", "article_key"),
                ("links", "from_key"),
                ("revisions", "article_key"),
                ("articles_search", "key"),
                ("articles", "key"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", [key])
    finally:
        db.close()


def test_article_removed_from_archive_is_removed_from_the_site(built, site):
    export_hugo(built.root, site)
    hostile = built.articles["hostile"]
    remove_from_archive(built.root, hostile.key)
    summary = export_hugo(built.root, site)
    assert (summary.removed_paths, (site / hostile.site_relpath).exists()) == (
        [hostile.site_relpath],
        False,
    )


def test_image_only_the_removed_article_showed_is_removed(built, site):
    export_hugo(built.root, site)
    remove_from_archive(built.root, built.articles["neuro"].key)
    summary = export_hugo(built.root, site)
    sha = hashlib.sha256(built.articles["neuro"].images[1]).hexdigest()  # the JPEG, only there
    assert (summary.images_removed, (site / f"static/images/{sha[:2]}/{sha}.jpg").exists()) == (
        1,
        False,
    )


def test_users_own_files_are_never_touched(built, site):
    own = {
        "content/posts/my-note.md": "---\ntitle: 我的笔记\n---\n自己写的。\n",
        "content/posts/神经科学前沿/2026/mine.md": "---\ntitle: 同目录\n---\n",
        "static/images/logo.txt": "not an image",
    }
    for relpath, text in own.items():
        (site / relpath).parent.mkdir(parents=True, exist_ok=True)
        (site / relpath).write_text(text, "utf-8")
    before = {relpath: mtimes(site)[relpath] for relpath in own}
    export_hugo(built.root, site)
    for article in built.articles.values():
        remove_from_archive(built.root, article.key)
    summary = export_hugo(built.root, site)
    after = mtimes(site)
    assert (summary.removed, {relpath: after.get(relpath) for relpath in own}) == (5, before)


def test_removed_article_folders_are_pruned_but_not_content_posts(built, site):
    export_hugo(built.root, site)
    for article in built.articles.values():
        remove_from_archive(built.root, article.key)
    export_hugo(built.root, site)
    assert sorted(p.name for p in (site / "content").rglob("*")) == ["posts"]


def test_a_page_path_not_written_by_an_export_is_not_overwritten(built, site):
    neuro = built.articles["neuro"]
    target = site / neuro.site_relpath
    target.parent.mkdir(parents=True)
    target.write_text("---\ntitle: 用户自己的文件\n---\n", "utf-8")
    summary = export_hugo(built.root, site)
    assert (target.read_text("utf-8"), summary.skipped) == (
        "---\ntitle: 用户自己的文件\n---\n",
        [f"{neuro.key}: {neuro.site_relpath} exists and was not written by an export"],
    )


# --- safety ------------------------------------------------------------------------------


def outside(folder: Path, site: Path) -> set[Path]:
    """Every path under `folder` that is not the site folder or inside it."""
    return {path for path in folder.rglob("*") if not path.is_relative_to(site)}


def test_hostile_title_and_account_cannot_leave_the_site(tmp_path, site):
    root = tmp_path / "archive"
    db = open_index(root / "archive.db")
    try:
        evil = archive_article(
            root,
            db,
            mid="2247499999",
            title="../../../../../../tmp/evil/../..",
            account="../..",
            published_at=datetime(2026, 1, 1, tzinfo=CST),
            paragraphs=["恶意标题"],
            images=[],
        )
    finally:
        db.close()
    outside_before = outside(tmp_path, site)
    export_hugo(root, site)
    outside_after = outside(tmp_path, site)
    assert (outside_after, evil.site_relpath.split("/")[:4]) == (
        outside_before,
        ["content", "posts", "unknown-account", "2026"],
    )


def test_md_path_outside_the_archive_is_skipped(built, site, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: 秘密\n---\n不该被导出\n", "utf-8")
    db = open_index(built.root / "archive.db")
    try:
        db.execute(
            "UPDATE articles SET md_path = ? WHERE key = ?",
            ["../secret.md", built.articles["pain"].key],
        )
        db.conn.commit()
    finally:
        db.close()
    summary = export_hugo(built.root, site)
    assert (summary.skipped, (site / built.articles["pain"].site_relpath).exists()) == (
        [f"{built.articles['pain'].key}: unsafe md_path '../secret.md'"],
        False,
    )


def test_content_folder_symlinked_outside_is_refused(built, site, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    site.mkdir()
    (site / "content").symlink_to(elsewhere)
    with pytest.raises(InputError, match="refusing to write"):
        export_hugo(built.root, site)
    assert list(elsewhere.iterdir()) == []


def test_site_dir_that_is_a_file_is_an_input_error(built, tmp_path):
    not_a_folder = tmp_path / "site.txt"
    not_a_folder.write_text("x")
    with pytest.raises(InputError) as error:
        export_hugo(built.root, not_a_folder)
    assert (
        str(error.value) == f"{not_a_folder}: exists and is not a folder; give a Hugo site folder"
    )


def test_folder_without_an_archive_is_an_input_error(tmp_path, site):
    with pytest.raises(InputError) as error:
        export_hugo(tmp_path / "nothing", site)
    assert str(error.value) == f"{tmp_path / 'nothing'}: no archive here (no archive.db)"


def test_manifest_lists_what_the_export_wrote(built, site):
    export_hugo(built.root, site)
    manifest = json.loads((site / MANIFEST_NAME).read_text())
    assert sorted(manifest["articles"].values()) == sorted(
        article.site_relpath for article in built.articles.values()
    )


def test_archived_markdown_front_matter_is_read_with_dates_as_written(built):
    neuro = built.articles["neuro"]
    md_path = article_relpath(neuro.account, neuro.published_at, neuro.title, neuro.key)
    text = (built.root / md_path).read_text("utf-8")
    meta, body = split_front_matter(text)
    assert (meta["date"], body.splitlines()[:2]) == (
        "2026-01-26T08:00:16+08:00",
        ["神经修复与再生 by 神经科学前沿", "------"],
    )
