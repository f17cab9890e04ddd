"""`harvester serve` and `harvester search` on a small real archive, through real processes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from archive_builder import (
    A1,
    A2,
    A3,
    A4,
    A5,
    BIZ1,
    MISSING_IMAGE_URL,
    ONE_KEY,
    RANKED_COUNT,
    RANKED_QUERY,
    SEARCHES,
    TITLES,
    BuiltArchive,
    Server,
    build_archive,
    build_one_article_archive,
    build_ranked_archive,
    harvester,
    ranked_key,
    running_server,
)

from archive.datasette_plugin import render_cell
from archive.datasette_plugin.archives import archive_names
from archive.fulltext import CJK_SEP
from archive.render import render_markdown, safe_href, stored_image_path

KEY_PATTERN = re.compile(r"\b(Mz[A-Za-z0-9+/=]+:\d+:\d+)\b")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltArchive:
    return build_archive(tmp_path_factory.mktemp("serve") / "wechat-archive")


# Every page is checked as `harvester serve` shows it and as plain `datasette archive.db`
# does (the plugin loaded from the package's entry point only).
HOW = {"params": [False, True], "ids": ["harvester-serve", "plain-datasette"]}


@pytest.fixture(scope="module", **HOW)
def server(built: BuiltArchive, request: pytest.FixtureRequest):
    with running_server(built.root, plain=request.param) as running:
        yield running


@pytest.fixture(scope="module")
def ranked(tmp_path_factory: pytest.TempPathFactory) -> BuiltArchive:
    return build_ranked_archive(tmp_path_factory.mktemp("ranked") / "wechat-archive")


@pytest.fixture(scope="module", **HOW)
def ranked_server(ranked: BuiltArchive, request: pytest.FixtureRequest):
    with running_server(ranked.root, plain=request.param) as running:
        yield running


def article_url(key: str) -> str:
    return "/-/article/" + quote(key, safe="")


def json_get(server: Server, path: str):
    response = server.get(path)
    assert response.status == 200, (path, response.status, response.text[:500])
    return json.loads(response.body)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


class SearchPage(HTMLParser):
    """A /-/search page read: its summary, hits (keys), numbering, page links and page label."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.summary = ""
        self.page_label = ""
        self.keys: list[str] = []
        self.start: str | None = None
        self.links: dict[str, str] = {}  # rel -> href
        self._in: list[str | None] = []  # the class of each open element
        self.feed(html)
        self.summary = " ".join(self.summary.split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "li" and values.get("class") == "search-hit":
            self.keys.append(values["data-key"] or "")
        if tag == "ol" and values.get("class") == "search-results":
            self.start = values.get("start")
        if tag == "a" and values.get("rel"):
            self.links[values["rel"] or ""] = values.get("href") or ""
        self._in.append(values.get("class"))

    def handle_endtag(self, tag: str) -> None:
        if self._in:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if "search-summary" in self._in:
            self.summary += data
        if "search-page" in self._in:
            self.page_label += data


def search_page(server: Server, path: str) -> SearchPage:
    response = server.get(path)
    assert response.status == 200, (path, response.status, response.text[:500])
    return SearchPage(response.text)


RANKED_PATH = "/-/search?q=" + quote(RANKED_QUERY)
FILTER_THEM = "Filter them by account, year, kind or status."


def ranked_keys(first: int, last: int) -> list[str]:
    return [ranked_key(number) for number in range(first, last + 1)]


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def assert_no_active_content(tags: Tags) -> None:
    assert not tags.find("script")
    for name, attrs in tags.tags:
        handlers = [attr for attr in attrs if attr.lower().startswith("on")]
        assert not handlers, (name, attrs)
        for attr in ("href", "src", "action"):
            value = (attrs.get(attr) or "").strip().lower()
            assert not value.startswith(("javascript:", "vbscript:", "data:text")), (name, attrs)


# --- rendering (no server) ---------------------------------------------------


def test_render_keeps_raw_html_as_text_and_drops_script_links() -> None:
    md = (
        "<script>alert(1)</script>\n\n"
        "text <img src=x onerror=alert(1)> more\n\n"
        "[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](vbscript:x) [d](https://example.org/x)\n\n"
        "![remote](https://mmbiz.qpic.cn/a/640?wx_fmt=png) ![](../../../images/ab/"
        + "ab" * 32
        + ".png)\n"
    )
    html = render_markdown(md, md_path="articles/acct/2026/2026-01-01-x-12345678.md")
    tags = parse(html)
    assert_no_active_content(tags)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert [a.get("href") for a in tags.find("a")] == [
        "https://example.org/x",
        "https://mmbiz.qpic.cn/a/640?wx_fmt=png",
    ]
    assert [img["src"] for img in tags.find("img")] == ["/images/ab/" + "ab" * 32 + ".png"]


def test_stored_image_paths_resolve_from_the_markdown_file() -> None:
    sha = "0f" * 32
    md_path = "articles/acct/2026/2026-01-01-x-12345678.md"
    assert stored_image_path(f"../../../images/0f/{sha}.png", md_path) == f"images/0f/{sha}.png"
    assert stored_image_path(f"../../../images/0f/{sha}.png", None) == f"images/0f/{sha}.png"
    assert stored_image_path(f"../../images/0f/{sha}.png", md_path) == f"images/0f/{sha}.png"
    assert stored_image_path("../../../../../etc/passwd", md_path) is None
    assert stored_image_path(f"/images/0f/{sha}.png", md_path) is None
    assert stored_image_path(f"https://mmbiz.qpic.cn/images/0f/{sha}.png", md_path) is None
    assert safe_href("javascript:alert(1)") is None
    assert safe_href("java\tscript:alert(1)") is None
    assert safe_href("#top") == "#top"


@pytest.mark.parametrize("href", ["tel:+8610123", "weixin://dl/business", "mailto:a@b.cn"])
def test_a_link_the_markdown_keeps_is_a_link_on_the_reading_page_too(href):
    assert safe_href(href) == href


# --- search through Datasette -------------------------------------------------


@pytest.mark.parametrize("query", list(SEARCHES))
def test_articles_table_search_finds_exactly(server: Server, query: str) -> None:
    path = f"/archive/articles.json?_search={quote(query)}&_shape=array&_col=title&_size=max"
    rows = json_get(server, path)
    assert {row["key"] for row in rows} == SEARCHES[query]


@pytest.mark.parametrize("query", list(SEARCHES))
def test_search_endpoint_finds_the_same_ranked(server: Server, query: str) -> None:
    data = json_get(server, f"/-/search.json?q={quote(query)}")
    keys = [hit["key"] for hit in data["results"]]
    assert set(keys) == SEARCHES[query]
    assert len(keys) == len(set(keys))
    for hit in data["results"]:
        assert CJK_SEP not in hit["snippet"] + (hit["title"] or "")
        assert hit["url"] == article_url(hit["key"])


def test_search_ranks_title_matches_first_with_natural_snippets(server: Server) -> None:
    data = json_get(server, f"/-/search.json?q={quote('神经修复')}")
    assert [hit["key"] for hit in data["results"]] == [A1, A4]
    first = data["results"][0]
    assert first["title"] == TITLES[A1]
    assert "<mark>神经修复</mark>" in first["snippet_html"]
    assert "周围神经损伤后，神经修复依赖于施万" in first["snippet"]
    mixed = json_get(server, f"/-/search.json?q={quote('PTEN 神经')}")["results"]
    assert "<mark>PTEN</mark>" in mixed[0]["snippet_html"]
    assert "<mark>神经</mark>元" in mixed[0]["snippet_html"]


def test_datasette_escape_fts_is_chinese_aware(server: Server) -> None:
    """The hidden spaced copy is searchable with Datasette's own ?_search (escape_fts)."""
    for query in ("神经修复", "神经", "Büngner带"):
        path = f"/archive/articles_search.json?_search={quote(query)}&_shape=array&_col=key"
        keys = {row["key"] for row in json_get(server, path)}
        assert keys == SEARCHES[query], query


def test_search_page_shows_highlighted_hits(server: Server) -> None:
    response = server.get(f"/-/search?q={quote('神经修复')}")
    assert response.status == 200
    assert "script-src 'none'" in response.headers["content-security-policy"]
    html = response.text
    assert_no_active_content(parse(html))
    assert html.index(TITLES[A1]) < html.index(TITLES[A4])
    assert "<mark>神经修复</mark>" in html
    assert TITLES[A3] not in html
    assert f'href="{article_url(A1)}"' in html
    empty = server.get(f"/-/search?q={quote('没有这个词')}")
    assert empty.status == 200 and "No articles match" in empty.text


def test_search_page_with_one_page_of_hits_says_how_many(server: Server) -> None:
    page = search_page(server, f"/-/search?q={quote('神经')}")
    assert page.summary == f"3 articles match “神经”, best first. {FILTER_THEM}"
    assert page.links == {} and page.page_label == ""
    one = search_page(server, f"/-/search?q={quote('PTEN 神经')}")
    assert one.summary == f"1 article matches “PTEN 神经”, best first. {FILTER_THEM}"


# --- paging through many hits (the ranked archive: 120 matches, 50 a page) ----------


def test_search_page_counts_every_match_and_shows_the_best_50(ranked_server: Server) -> None:
    page = search_page(ranked_server, RANKED_PATH)
    assert page.summary == f"120 articles match “研究”, best first; 1–50 shown. {FILTER_THEM}"
    assert page.keys == ranked_keys(1, 50)
    assert page.start == "1"
    assert page.page_label == "Page 1 of 3"
    assert page.links == {"next": RANKED_PATH + "&page=2"}


def test_search_page_two_shows_the_next_hits_and_a_previous_link(ranked_server: Server) -> None:
    first = search_page(ranked_server, RANKED_PATH)
    page = search_page(ranked_server, first.links["next"])
    assert page.summary == f"120 articles match “研究”, best first; 51–100 shown. {FILTER_THEM}"
    assert page.keys == ranked_keys(51, 100)
    assert page.start == "51"
    assert page.page_label == "Page 2 of 3"
    assert page.links == {"prev": RANKED_PATH, "next": RANKED_PATH + "&page=3"}


def test_search_page_last_page_has_no_next(ranked_server: Server) -> None:
    page = search_page(ranked_server, RANKED_PATH + "&page=3")
    assert page.summary == f"120 articles match “研究”, best first; 101–120 shown. {FILTER_THEM}"
    assert page.keys == ranked_keys(101, RANKED_COUNT)
    assert page.page_label == "Page 3 of 3"
    assert page.links == {"prev": RANKED_PATH + "&page=2"}


@pytest.mark.parametrize(
    ("asked", "shown"),
    [("abc", 1), ("", 1), ("2.5", 1), ("-1", 1), ("0", 1), ("99999", 3), ("4", 3)],
)
def test_search_page_nonsense_pages_show_the_first_or_last(
    ranked_server: Server, asked: str, shown: int
) -> None:
    page = search_page(ranked_server, RANKED_PATH + "&page=" + quote(asked))
    assert page.page_label == f"Page {shown} of 3"
    first = (shown - 1) * 50 + 1
    assert page.keys == ranked_keys(first, min(first + 49, RANKED_COUNT))


def test_search_page_links_keep_the_page_size(ranked_server: Server) -> None:
    page = search_page(ranked_server, RANKED_PATH + "&limit=100")
    assert page.summary == f"120 articles match “研究”, best first; 1–100 shown. {FILTER_THEM}"
    assert page.links == {"next": RANKED_PATH + "&limit=100&page=2"}
    last = search_page(ranked_server, page.links["next"])
    assert last.keys == ranked_keys(101, RANKED_COUNT)
    assert last.links == {"prev": RANKED_PATH + "&limit=100"}


def test_search_json_gives_the_total_and_the_page(ranked_server: Server) -> None:
    data = json_get(ranked_server, f"/-/search.json?q={quote(RANKED_QUERY)}&page=3")
    assert {key: data[key] for key in ("query", "limit", "total", "page", "pages")} == {
        "query": "研究",
        "limit": 50,
        "total": 120,
        "page": 3,
        "pages": 3,
    }
    assert [hit["key"] for hit in data["results"]] == ranked_keys(101, RANKED_COUNT)
    empty = json_get(ranked_server, f"/-/search.json?q={quote('没有这个词')}&page=7")
    assert (empty["total"], empty["page"], empty["pages"], empty["results"]) == (0, 1, 1, [])


def test_articles_table_search_page(server: Server) -> None:
    response = server.get(f"/archive/articles?_search={quote('神经')}")
    assert response.status == 200
    html = response.text
    assert f'value="{"神经"}"' in html  # the search box keeps the query
    assert "Best matches for “神经”" in html
    assert "<mark>神经</mark>" in html
    for key in SEARCHES["神经"]:
        assert f'href="{article_url(key)}"' in html
    assert TITLES[A3] not in html
    assert "再生速度" not in html  # the end of A1's body: bodies are not dumped into the table


def test_articles_table_truncates_bodies(server: Server) -> None:
    html = server.get("/archive/articles").text
    assert "read →" in html
    assert "再生速度" not in html  # the end of A1's body
    assert html.index(TITLES[A1]) < html.index(TITLES[A2]) < html.index(TITLES[A4])  # newest first
    table = html.split('<table class="rows-and-columns">')[1].split("</table>")[0]
    assert_no_active_content(parse(table))


# --- reading an article -----------------------------------------------------------


def test_article_page_renders_safely(server: Server, built: BuiltArchive) -> None:
    response = server.get(article_url(A1))
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "default-src 'none'" in csp
    html = response.text
    tags = parse(html)
    assert_no_active_content(tags)
    assert "<script" not in html.lower()
    text = "".join(tags.text)
    assert TITLES[A1] in text and "Neuronlink" in text and "2026-01-26" in text
    assert "神经修复依赖于施万细胞排列形成的 Büngner带" in text
    assert '<script>window.__pwned = 1; document.title = "pwned";</script>' in text  # as text
    assert "[点这里领取奖励](javascript:window.__pwned=3)" in text  # not a link
    images = [img["src"] for img in tags.find("img")]
    assert images == [
        "/images/" + built.images["cells"].relpath.removeprefix("images/"),
        "/images/" + built.images["bands"].relpath.removeprefix("images/"),
    ]
    hrefs = [a.get("href") for a in tags.find("a")]
    assert "https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw" in hrefs  # 原文链接
    assert "原文链接" in text
    assert hrefs.count(article_url(A2)) == 3  # in the body, links from here, linking here
    linking_here = html.split("Articles linking here")[1]
    assert article_url(A2) in linking_here and article_url(A4) in linking_here


def test_article_page_missing_image_is_a_link_not_loaded(server: Server) -> None:
    response = server.get(article_url(A2))
    assert response.status == 200
    tags = parse(response.text)
    assert all(img["src"].startswith("/images/") for img in tags.find("img"))
    missing = [a for a in tags.find("a") if a.get("class") == "missing-image"]
    assert [a["href"] for a in missing] == [MISSING_IMAGE_URL]
    assert "(1 not archived)" in response.text


def test_article_page_for_a_deleted_article_and_unknown_key(server: Server) -> None:
    html = server.get(article_url(A4)).text
    assert "WeChat no longer shows this article (deleted" in html
    assert "修订版" in html
    assert server.get(article_url(A5)).status == 200
    assert server.get(article_url("nope:1:1")).status == 404


def test_images_are_served_from_the_archive(server: Server, built: BuiltArchive) -> None:
    for name, stored in built.images.items():
        response = server.get("/" + stored.relpath)
        assert response.status == 200, name
        assert response.headers["content-type"] == "image/png"
        assert response.body == built.image_bytes(name)
        assert "sandbox" in response.headers["content-security-policy"]
    assert server.get("/images/00/" + "0" * 64 + ".png").status == 404


# --- navigation ---------------------------------------------------------------------


def test_metadata_facets_and_hidden_tables(server: Server) -> None:
    metadata = json_get(server, "/-/metadata.json")
    assert metadata["title"] == "WeChat archive"
    tables = metadata["databases"]["archive"]["tables"]
    assert tables["articles"]["sort_desc"] == "published_at"
    data = json_get(server, "/archive/articles.json?_col=title")
    assert set(data["facet_results"]) == {"account", "year", "kind", "status"}
    accounts = {item["value"] for item in data["facet_results"]["account"]["results"]}
    assert accounts == {"Neuronlink", "BrainLab"}
    database = json_get(server, "/archive.json")
    hidden = {table["name"] for table in database["tables"] if table["hidden"]}
    assert {"articles_search", "articles_fts"} <= hidden


@pytest.mark.parametrize("path", ["/-/feed.atom", "/-/feed/gone.atom"])
def test_feeds_are_served(server: Server, path: str) -> None:
    """test_feeds.py reads them; here: both ways of serving give them."""
    response = server.get(path)
    assert response.status == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns=')


def test_canned_queries(server: Server) -> None:
    def keys(name: str) -> list[str]:
        return [row["key"] for row in json_get(server, f"/archive/{name}.json?_shape=array")]

    assert keys("recently_archived") == [A5, A2, A1, A3, A4]
    assert keys("gone") == [A4]
    assert keys("changed") == [A4]
    assert keys("missing_images") == [A2]
    html = server.get("/archive/gone").text
    assert "Deleted or blocked since archived" in html
    assert f'href="{article_url(A4)}"' in html


def test_account_page_lists_its_articles(server: Server) -> None:
    response = server.get("/-/account/" + quote(BIZ1, safe=""))
    assert response.status == 200
    assert "biz=" in response.url
    assert TITLES[A1] in response.text and TITLES[A3] in response.text
    assert TITLES[A2] not in response.text


@pytest.fixture(scope="module")
def datasette(built: BuiltArchive):
    """A Datasette (not serving) over the archive, its archives found as at startup."""
    from datasette.app import Datasette

    instance = Datasette([str(built.root / "archive.db")])
    assert asyncio.run(archive_names(instance)) == ["archive"]
    return instance


@pytest.mark.parametrize(
    ("biz", "href"),
    [
        ("MzA=", "/-/account/MzA%3D"),
        (None, "/archive/articles?account=%E8%84%91%E7%A7%91%E5%AD%A6&amp;_sort_desc=published_at"),
    ],
    ids=["by biz", "by name only"],
)
def test_an_account_name_links_to_its_articles(datasette, biz: str | None, href: str) -> None:
    row = {"biz": biz, "nickname": "脑科学"}
    cell = render_cell(row, "脑科学", "nickname", "accounts", "archive", datasette)
    assert str(cell) == f'<a href="{href}">脑科学</a>'


# --- the terminal -----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["神经", "神经修复", "PTEN 神经", "Büngner带"])
def test_cli_search_prints_the_same_hits(server: Server, built: BuiltArchive, query: str) -> None:
    result = harvester("search", query, "--archive", str(built.root))
    assert result.returncode == 0, result.stderr
    expected = [
        hit["key"] for hit in json_get(server, f"/-/search.json?q={quote(query)}")["results"]
    ]
    assert KEY_PATTERN.findall(result.stdout) == expected
    for key in expected:
        assert TITLES[key] in result.stdout
        assert str(built.root / built.md_paths[key]) in result.stdout
    assert "\x1b[" not in result.stdout  # plain when not a terminal
    noun = "article matches" if len(expected) == 1 else "articles match"
    assert result.stdout.rstrip().endswith(f"{len(expected)} {noun} “{query}”, best first.")


def test_cli_search_marks_matches_and_limits(built: BuiltArchive) -> None:
    result = harvester("search", "神经修复", "--archive", str(built.root))
    assert "[神经修复]依赖于施万" in result.stdout
    assert "deleted" in result.stdout  # A4's status
    limited = harvester("search", "神经", "--archive", str(built.root), "--limit", "1")
    assert limited.returncode == 0
    assert KEY_PATTERN.findall(limited.stdout) == [A1]
    assert limited.stdout.rstrip().endswith(
        "The best 1 of 3 articles matching “神经”; 2 more with --limit 3."
    )


def test_cli_search_with_exactly_limit_matches_has_no_more(built: BuiltArchive) -> None:
    result = harvester("search", "神经", "--archive", str(built.root), "--limit", "3")
    assert result.returncode == 0, result.stderr
    assert len(KEY_PATTERN.findall(result.stdout)) == 3
    assert result.stdout.rstrip().endswith("3 articles match “神经”, best first.")


def test_cli_search_says_how_many_more_match(ranked: BuiltArchive) -> None:
    result = harvester("search", RANKED_QUERY, "--archive", str(ranked.root))
    assert result.returncode == 0, result.stderr
    assert KEY_PATTERN.findall(result.stdout) == ranked_keys(1, 20)
    assert result.stdout.splitlines()[-1] == (
        "The best 20 of 120 articles matching “研究”; 100 more with --limit 120."
    )


def test_cli_search_errors_and_no_results(built: BuiltArchive, tmp_path: Path) -> None:
    empty = harvester("search", "  ", "--archive", str(built.root))
    assert empty.returncode == 2
    assert empty.stderr.count("\n") == 1 and "empty search query" in empty.stderr
    punctuation = harvester("search", "!!!", "--archive", str(built.root))
    assert punctuation.returncode == 2 and punctuation.stderr.count("\n") == 1
    none = harvester("search", "没有这个词", "--archive", str(built.root))
    assert none.returncode == 0
    assert none.stdout.strip() == "No articles match “没有这个词”."
    missing = harvester("search", "神经", "--archive", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no archive here" in missing.stderr


def test_cli_search_shows_the_control_characters_an_article_holds_as_escapes(
    tmp_path: Path,
) -> None:
    hostile = build_one_article_archive(
        tmp_path / "archive",
        title="标题\x1b]0;pwned\x07\x1b[31m红色\u202e倒序",
        account="账号\x1b[2J\x9b名",
        body="正文\x1b]8;;https://evil.example/\x1b\\链接\x08掉\u2066。\n",
    )
    result = harvester("search", "正文", "--archive", str(hostile.root))
    assert (result.returncode, result.stderr) == (0, "")
    assert "\x1b" not in result.stdout
    md_file = hostile.root / hostile.md_paths[ONE_KEY]
    assert result.stdout == (
        "1. 标题\\x1b]0;pwned\\x07\\x1b[31m红色\\u202e倒序\n"
        f"   账号\\x1b[2J\\x9b名 · 2026-01-26 · live · {ONE_KEY}\n"
        "   [正文]\\x1b]8;;https://evil.example/\\x1b\\链接\\x08掉\\u2066。\n"
        f"   {md_file}\n"
        "\n"
        "1 article matches “正文”, best first.\n"
    )


def test_cli_search_takes_every_word_as_the_query(built: BuiltArchive) -> None:
    quoted = harvester("search", "PTEN 神经", "--archive", str(built.root))
    unquoted = harvester("search", "PTEN", "神经", "--archive", str(built.root))
    assert unquoted.returncode == 0, unquoted.stderr
    assert unquoted.stdout == quoted.stdout


@pytest.mark.parametrize(
    ("query", "expected"), [('"神 经"', SEARCHES["神经"]), ("神经", set()), ("PTEN", {A2})]
)
def test_sqlite_utils_search_works_as_the_readme_says(
    built: BuiltArchive, query: str, expected: set[str]
) -> None:
    """Chinese only as a phrase of single characters; Latin words as typed."""
    sqlite_utils = Path(sys.executable).with_name("sqlite-utils")
    argv = [str(sqlite_utils), "search", str(built.root / "archive.db"), "articles_search"]
    done = subprocess.run(
        [*argv, query, "-c", "key"], capture_output=True, text=True, timeout=60, check=True
    )
    assert {row["key"] for row in json.loads(done.stdout)} == expected


# --- the process -------------------------------------------------------------------------


def test_port_in_use_is_a_one_line_error(server: Server, built: BuiltArchive) -> None:
    result = harvester("serve", "--archive", str(built.root), "--port", str(server.port))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "already in use" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_stops_cleanly_and_leaves_the_archive_alone(built: BuiltArchive) -> None:
    db = built.root / "archive.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with running_server(built.root) as running:
        assert running.get(f"/-/search.json?q={quote('神经')}").status == 200
        assert running.get(article_url(A1)).status == 200
        code = running.stop()
    assert code == 0
    assert running.stdout == (
        f"Serving {built.root} at http://127.0.0.1:{running.port}/ (Ctrl-C to stop)\n"
    )
    assert running.stderr == ""
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
