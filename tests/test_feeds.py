"""Atom feeds out of the archive: the archive's, an account's, the articles gone since archived.

The XML itself (archive/feeds.py) without a server, then the feeds of plain `datasette
archive.db` read with feedparser, as a feed reader reads them, and the pages that
advertise them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest
from archive_builder import (
    A1,
    A2,
    A3,
    A4,
    BIZ1,
    BIZ2,
    NEW_KEY,
    TITLES,
    BuiltArchive,
    Server,
    add_article,
    build_archive,
    running_server,
)

from archive.feeds import Feed, FeedEntry, atom_xml
from archive.index import open_index

ATOM_TYPE = "application/atom+xml; charset=utf-8"
ATOM_LINK = ("alternate", "application/atom+xml")


def entry(**values: str) -> FeedEntry:
    fields = {
        "id": "https://mp.weixin.qq.com/s/abc",
        "title": "标题",
        "updated": "2026-02-01T03:00:00+00:00",
        "link": "http://127.0.0.1:8001/-/article/k",
        "content_html": "<p>正文</p>",
    }
    return FeedEntry(**{**fields, **values})


def feed(*entries: FeedEntry) -> Feed:
    return Feed(
        id="http://127.0.0.1:8001/-/feed.atom",
        title="WeChat archive: newest articles",
        updated="2026-02-01T03:00:00+00:00",
        self_link="http://127.0.0.1:8001/-/feed.atom",
        alternate_link="http://127.0.0.1:8001/archive/articles",
        author="WeChat archive",
        entries=list(entries),
    )


# --- the XML -------------------------------------------------------------------------


def test_a_feed_is_valid_atom_with_every_field() -> None:
    text = atom_xml(
        feed(entry(published="2026-01-26T08:00:16+08:00", author="档案", original_link="https://x"))
    )
    parsed = feedparser.parse(text)
    assert (parsed.bozo, parsed.version) == (False, "atom10")
    assert parsed.feed.title == "WeChat archive: newest articles"
    assert parsed.feed.id == "http://127.0.0.1:8001/-/feed.atom"
    [item] = parsed.entries
    assert (item.id, item.title, item.author) == ("https://mp.weixin.qq.com/s/abc", "标题", "档案")
    assert item.updated == "2026-02-01T03:00:00+00:00"
    assert item.published == "2026-01-26T08:00:16+08:00"
    assert item.link == "http://127.0.0.1:8001/-/article/k"
    assert [link.href for link in item.links if link.rel == "related"] == ["https://x"]
    assert item.content[0].type == "text/html" and item.content[0].value == "<p>正文</p>"


def test_characters_xml_cannot_hold_are_left_out() -> None:
    text = atom_xml(feed(entry(title="a\x02b\x0bc\ufffe", content_html="<p>x\x00y\ud800</p>")))
    parsed = feedparser.parse(text)
    assert parsed.bozo is False
    assert parsed.entries[0].title == "abc"
    assert parsed.entries[0].content[0].value == "<p>xy</p>"


def test_an_empty_feed_is_valid_atom() -> None:
    parsed = feedparser.parse(atom_xml(feed()))
    assert (parsed.bozo, parsed.version, parsed.entries) == (False, "atom10", [])


# --- served by plain datasette ------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltArchive:
    return build_archive(tmp_path_factory.mktemp("feeds") / "wechat-archive")


@pytest.fixture(scope="module")
def server(built: BuiltArchive):
    with running_server(built.root, plain=True) as running:
        yield running


def read_feed(server: Server, path: str):
    response = server.get(path)
    assert response.status == 200, (path, response.status, response.text[:300])
    assert response.headers["content-type"] == ATOM_TYPE
    parsed = feedparser.parse(response.body)
    assert (parsed.bozo, parsed.version) == (False, "atom10"), parsed.get("bozo_exception")
    return parsed


def keys_of(server: Server, parsed) -> list[str]:
    prefix = server.base_url + "/-/article/"
    return [
        item.link.removeprefix(prefix).replace("%3D", "=").replace("%3A", ":")
        for item in parsed.entries
    ]


def test_the_archive_feed_has_the_newest_versions_first(server: Server) -> None:
    parsed = read_feed(server, "/-/feed.atom")
    assert parsed.feed.title == "WeChat archive: newest articles"
    assert parsed.feed.id == server.base_url + "/-/feed.atom"
    assert keys_of(server, parsed) == [A4, A3, A2, A1]  # A4's changed version landed last
    assert [item.title for item in parsed.entries] == [TITLES[k] for k in (A4, A3, A2, A1)]
    a4 = parsed.entries[0]
    assert a4.updated == "2026-01-05T03:00:00+00:00"  # when its changed version landed
    assert (
        a4.id
        == "https://mp.weixin.qq.com/s?__biz=MzA4NzY1NDMyMQ==&mid=2650000002&idx=1&sn=0123456789abcdef"
    )
    assert parsed.feed.updated == "2026-02-02T03:00:00+00:00"


def test_an_entry_holds_the_full_text_with_absolute_images_and_links(
    server: Server, built: BuiltArchive
) -> None:
    a1 = read_feed(server, "/-/feed.atom").entries[3]
    html = a1.content[0].value
    assert "周围神经损伤后，神经修复依赖于施万细胞排列形成的 Büngner带" in html
    assert "再生速度" in html  # the end of the body: the full text
    cells = built.images["cells"].relpath.removeprefix("images/")
    assert f'src="{server.base_url}/images/{cells}"' in html
    assert f'href="{server.base_url}/-/article/{quote(A2, safe="")}"' in html
    assert "&lt;script&gt;window.__pwned" in html  # archived text, shown as text
    assert "<script" not in html and 'href="javascript:' not in html
    assert a1.author == "档案测试"
    assert a1.published == "2026-01-26T08:00:16+08:00"


def test_an_account_feed_has_only_its_articles(server: Server) -> None:
    parsed = read_feed(server, "/-/feed/account/" + quote(BIZ2, safe="") + ".atom")
    assert parsed.feed.title == "BrainLab – WeChat archive"
    assert keys_of(server, parsed) == [A4, A2]
    alternate = [link.href for link in parsed.feed.links if link.rel == "alternate"]
    assert alternate == [server.base_url + "/-/account/" + quote(BIZ2, safe="")]
    assert server.get("/-/feed/account/nope.atom").status == 404


def test_the_gone_feed_has_the_articles_wechat_no_longer_shows(server: Server) -> None:
    parsed = read_feed(server, "/-/feed/gone.atom")
    assert parsed.feed.title == "WeChat archive: deleted or blocked since archived"
    assert keys_of(server, parsed) == [A4]
    [a4] = parsed.entries
    assert a4.updated == "2026-02-03T03:00:00+00:00"  # when it was found deleted
    assert "WeChat no longer shows this article (deleted since 2026-02-03)" in a4.content[0].value
    assert "修订版" in a4.content[0].value


def test_a_feed_with_nothing_in_it_is_valid(tmp_path: Path) -> None:
    open_index(tmp_path / "archive.db").close()  # an archive with no article yet
    with running_server(tmp_path, plain=True) as running:
        parsed = read_feed(running, "/-/feed/gone.atom")
        assert parsed.entries == []
        assert parsed.feed.updated == "1970-01-01T00:00:00+00:00"


def test_a_changed_version_puts_its_article_first_again(tmp_path: Path) -> None:
    built = build_archive(tmp_path / "wechat-archive")
    with running_server(built.root, plain=True) as running:
        add_article(built, "第一版。", datetime(2026, 2, 5, 3, 0, tzinfo=UTC))
        assert keys_of(running, read_feed(running, "/-/feed.atom"))[:2] == [NEW_KEY, A4]
        add_article(built, "第二版，改过了。", datetime(2026, 2, 6, 3, 0, tzinfo=UTC), "v2")
        parsed = read_feed(running, "/-/feed.atom")
        assert keys_of(running, parsed)[:2] == [NEW_KEY, A4]
        assert parsed.entries[0].updated == "2026-02-06T03:00:00+00:00"
        assert "第二版" in parsed.entries[0].content[0].value
        assert parsed.feed.updated == "2026-02-06T03:00:00+00:00"


# --- the pages that advertise them ----------------------------------------------------------


class FeedLinks(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and (values.get("rel"), values.get("type")) == ATOM_LINK:
            self.hrefs.append(values.get("href") or "")


ARCHIVE_FEEDS = ["/-/feed.atom", "/-/feed/gone.atom"]
BIZ1_FEED = "/-/feed/account/" + quote(BIZ1, safe="") + ".atom"


@pytest.mark.parametrize(
    ("path", "feeds"),
    [
        ("/", ARCHIVE_FEEDS),
        ("/archive/articles", ARCHIVE_FEEDS),
        (f"/archive/articles?_search={quote('神经')}", ARCHIVE_FEEDS),
        ("/-/account/" + quote(BIZ1, safe=""), [BIZ1_FEED, *ARCHIVE_FEEDS]),
        ("/-/article/" + quote(A3, safe=""), [BIZ1_FEED, *ARCHIVE_FEEDS]),
        ("/-/search", ARCHIVE_FEEDS),
    ],
    ids=["home", "articles", "searched articles", "account", "article", "search"],
)
def test_pages_advertise_their_feeds(server: Server, path: str, feeds: list[str]) -> None:
    response = server.get(path)
    assert response.status == 200
    assert FeedLinks(response.text).hrefs == feeds
    for href in feeds:
        assert server.get(href).status == 200


def test_other_tables_advertise_no_feed(server: Server) -> None:
    assert FeedLinks(server.get("/archive/revisions").text).hrefs == []
