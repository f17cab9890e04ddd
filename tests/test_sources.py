"""The sources: links files, albums, feeds, the mp backend, seed folders, followed links."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fakewechat import FakeWeChat, album_item

from archive.times import CHINA
from harvester.errors import InputError, TryLater
from harvester.http import HttpClient
from harvester.sources import (
    Listing,
    SourceConfigError,
    SourceContext,
    SourceError,
    followed_links,
    known_kinds,
    make_source,
)
from harvester.sources.album import parse_album_page
from harvester.sources.feed import parse_feed
from harvester.sources.mp import (
    FreqControl,
    SessionExpired,
    list_ex_url,
    parse_list_ex,
    parse_publish_page,
    publish_url,
)

SHARED_WECHAT = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "wechat"

BIZ = "MzA3NzM2Mjc4Mw=="
OTHER_BIZ = "MzIwNjU2ODk1MQ=="
SN = "0123456789abcdef0123456789abcdef"
COOKIE = "slave_sid=c2VjcmV0LWNvb2tpZQ; data_ticket=TICKETzz99"
TOKEN = "1928374650"


def long_url(mid: int | str, idx: int | str = 1, biz: str = BIZ, sn: str = SN) -> str:
    return f"https://mp.weixin.qq.com/s?__biz={biz}&mid={mid}&idx={idx}&sn={sn}"


def keys(listings: list[Listing]) -> list[str]:
    return [item.link.key for item in listings]


@pytest.fixture
def client(fake_wechat: FakeWeChat) -> Iterator[HttpClient]:
    """A client relayed to the fake WeChat; no politeness waits, no retries."""
    with HttpClient(
        relay=fake_wechat.relay, requests_per_second=None, retries=0, timeout=(2.0, 5.0)
    ) as http:
        yield http


# --------------------------------------------------------------------------- registry


def test_unknown_kind_is_refused_naming_the_known_kinds():
    with pytest.raises(InputError) as caught:
        make_source({"kind": "rss"})
    assert str(caught.value) == (
        "source: 'kind' is 'rss', not a known source kind "
        "(known kinds: account, album, feed, mp, seed, urls, weread)"
    )


def test_missing_kind_is_refused_naming_the_key():
    with pytest.raises(SourceConfigError) as caught:
        make_source({"url": "https://example.org/feed.xml"})
    assert caught.value.key == "kind"


def test_registry_knows_every_source_kind():
    assert known_kinds() == ["account", "album", "feed", "mp", "seed", "urls", "weread"]


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"kind": "urls"}, "path"),
        ({"kind": "urls", "path": "missing.txt"}, "path"),
        ({"kind": "album"}, "url"),
        ({"kind": "album", "url": "https://mp.weixin.qq.com/s/abc"}, "url"),
        (
            {
                "kind": "album",
                "url": "https://mp.weixin.qq.com/mp/appmsgalbum?__biz=x&album_id=1",
                "max_pages": "2",
            },
            "max_pages",
        ),
        ({"kind": "feed", "url": 42}, "url"),
        ({"kind": "feed", "url": "ftp://example.org/feed.xml"}, "url"),
        ({"kind": "mp", "auth": "mp-auth.json"}, "fakeid"),
        ({"kind": "mp", "fakeid": BIZ}, "auth"),
        ({"kind": "mp", "fakeid": BIZ, "auth": "missing.json"}, "auth"),
        ({"kind": "seed", "path": "no-such-folder"}, "path"),
        ({"kind": "seed", "path": "x", "follow_links": "yes"}, "follow_links"),
    ],
)
def test_check_names_the_bad_key(tmp_path: Path, table: dict[str, Any], key: str):
    source = make_source(table, SourceContext(client=None, base_dir=tmp_path))
    with pytest.raises(SourceConfigError) as caught:
        source.check()
    assert caught.value.key == key
    assert f"{key!r}" in str(caught.value)


def test_check_passes_without_a_client_or_network(tmp_path: Path):
    url = f"https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&action=getalbum&album_id=123"
    source = make_source({"kind": "album", "url": url}, SourceContext(None, tmp_path))
    source.check()
    assert source.name == "album:123"


def test_unknown_key_is_a_warning_not_an_error(tmp_path: Path):
    (tmp_path / "links.txt").write_text("")
    source = make_source(
        {"kind": "urls", "path": "links.txt", "paht": "x"}, SourceContext(None, tmp_path)
    )
    source.check()
    assert source.warnings == [
        "urls source 'urls:links.txt': unknown key 'paht' ignored "
        "(known keys: follow_links, kind, name, path)"
    ]


# --------------------------------------------------------------------------- urls


def test_urls_file_skips_comments_and_blank_lines_and_warns_on_bad_lines(tmp_path: Path):
    (tmp_path / "links.txt").write_text(
        "# my reading list\n"
        "\n"
        f"{long_url(100)}&chksm=abcd#rd\n"
        "   \n"
        "https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw   # a short one\n"
        "https://example.org/not-wechat\n"
        f"https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&album_id=1\n"
        f"{long_url(100)}\n",
        encoding="utf-8",
    )
    source = make_source({"kind": "urls", "path": "links.txt"}, SourceContext(None, tmp_path))
    listings = list(source.listings())
    assert keys(listings) == [f"{BIZ}:100:1", "s:A1E9RPbyYFRLOfhsP7B_Rw"]
    assert [item.source for item in listings] == ["urls:links.txt", "urls:links.txt"]
    assert source.warnings == [
        "links.txt:6: 'https://example.org/not-wechat' is not a WeChat article link: "
        "its host is example.org, not mp.weixin.qq.com",
        f"links.txt:7: 'https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&album_id=1' "
        "is not a WeChat article link: it is an album, not an article",
    ]


# --------------------------------------------------------------------------- album


def album_items(count: int) -> list[dict[str, str]]:
    return [
        album_item(
            f"第{n}篇",
            BIZ,
            2650000000 + n,
            1,
            SN,
            1700000000 + n,
            f"https://mmbiz.qpic.cn/c{n}.jpg",
        )
        for n in range(count, 0, -1)
    ]


def album_source(client: HttpClient, album_id: str = "777", **extra: Any):
    url = (
        f"https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&action=getalbum"
        f"&album_id={album_id}#wechat_redirect"
    )
    return make_source({"kind": "album", "url": url, **extra}, SourceContext(client, Path(".")))


def album_requests(fake: FakeWeChat) -> list[dict[str, str]]:
    return [
        {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        for path in fake.paths()
        if path.startswith("/mp/appmsgalbum")
    ]


def test_album_pages_through_three_pages_with_a_single_object_last_page(
    fake_wechat: FakeWeChat, client: HttpClient
):
    items = album_items(41)
    fake_wechat.add_album(BIZ, "777", items, single_as_object=True)
    listings = list(album_source(client).listings())
    assert keys(listings) == [f"{BIZ}:{2650000000 + n}:1" for n in range(41, 0, -1)]
    cursors = [
        (q.get("begin_msgid"), q.get("begin_itemidx"), q["count"])
        for q in album_requests(fake_wechat)
    ]
    assert cursors == [(None, None, "20"), ("2650000022", "1", "20"), ("2650000002", "1", "20")]
    assert listings[-1].title == "第1篇"
    assert listings[-1].published_at == datetime(2023, 11, 15, 6, 13, 21, tzinfo=CHINA)
    assert listings[-1].cover == "https://mmbiz.qpic.cn/c1.jpg"


def test_album_with_nonzero_ret_raises_source_error(fake_wechat: FakeWeChat, client: HttpClient):
    source = album_source(client, album_id="404")  # the fake answers ret -2 for it
    with pytest.raises(SourceError) as caught:
        list(source.listings())
    assert "base_resp.ret -2" in str(caught.value)


def test_album_stops_when_the_server_repeats_the_same_page(
    fake_wechat: FakeWeChat, client: HttpClient
):
    page = {
        "base_resp": {"ret": 0},
        "getalbum_resp": {"article_list": album_items(2), "continue_flag": "1"},
    }
    fake_wechat.add_route("/mp/appmsgalbum", json.dumps(page), "application/json")
    source = album_source(client)
    listings = list(source.listings())
    assert keys(listings) == [f"{BIZ}:2650000002:1", f"{BIZ}:2650000001:1"]
    assert len(album_requests(fake_wechat)) == 2
    assert source.warnings == [
        "album source 'album:777': page 2 brought no new articles although the album says "
        "more follow; stopped paging"
    ]


def test_album_max_pages_caps_the_requests(fake_wechat: FakeWeChat, client: HttpClient):
    fake_wechat.add_album(BIZ, "777", album_items(45))
    listings = list(album_source(client, max_pages=2).listings())
    assert len(listings) == 40
    assert len(album_requests(fake_wechat)) == 2


def test_album_page_accepts_ints_and_a_single_object():
    item = {
        "title": "唯一",
        "url": long_url(5) + "&chksm=1#rd",
        "create_time": 1600000000,
        "msgid": 5,
        "itemidx": 1,
    }
    page = parse_album_page(
        {"base_resp": {"ret": 0}, "getalbum_resp": {"article_list": item, "continue_flag": 0}}
    )
    assert keys(page.listings) == [f"{BIZ}:5:1"]
    assert (page.more, page.cursor) == (False, ("5", "1"))


def test_album_freq_control_is_try_later():
    with pytest.raises(TryLater):
        parse_album_page(b'{"base_resp": {"ret": 200013, "errmsg": "freq control"}}')


def test_album_answered_with_the_verification_page_is_try_later():
    page = b"<html><script>var PAGE_MID='mmbizwap:secitptpage/verify.html';</script></html>"
    with pytest.raises(TryLater):
        parse_album_page(page, source="album:1")


# --------------------------------------------------------------------------- feed

RSS_GBK = """<?xml version="1.0" encoding="GBK"?>
<rss version="2.0"><channel><title>公众号 RSS</title><link>https://rsshub.example/</link>
<item>
  <title><![CDATA[神经修复与再生 <上>]]></title>
  <link>{link}</link>
  <guid isPermaLink="false">urn:wechat:1</guid>
  <pubDate>Mon, 26 Jan 2026 00:00:16 GMT</pubDate>
  <description><![CDATA[<p>简短摘要 &amp; 说明</p>]]></description>
  <enclosure url="https://mmbiz.qpic.cn/cover.jpg" type="image/jpeg" length="0"/>
</item>
</channel></rss>
"""

ATOM_CONTENT_ONLY = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>wewe-rss</title><id>urn:feed</id>
<updated>2026-01-26T08:00:16+08:00</updated>
<entry>
  <title>只在正文里的链接</title>
  <id>https://bridge.example/items/1</id>
  <link href="https://bridge.example/items/1"/>
  <updated>2026-01-26T08:00:16+08:00</updated>
  <content type="html"><![CDATA[<p>原文：<a href="http://mp.weixin.qq.com/s?__biz={biz}&amp;mid=300&amp;idx=2&amp;sn={sn}&amp;chksm=9f#rd">阅读</a></p>]]></content>
</entry>
</feed>
"""


def test_rss_in_gbk_with_cdata_is_read_from_bytes():
    data = RSS_GBK.format(link=long_url(200).replace("&", "&amp;")).encode("gbk")
    listings, warnings = parse_feed(data, source="feed:test")
    assert warnings == []
    assert listings == [
        Listing(
            link=listings[0].link,
            title="神经修复与再生 <上>",
            published_at=datetime(2026, 1, 26, 8, 0, 16, tzinfo=CHINA),
            cover="https://mmbiz.qpic.cn/cover.jpg",
            digest="简短摘要 & 说明",
            source="feed:test",
        )
    ]
    assert listings[0].link.key == f"{BIZ}:200:1"


def test_atom_with_bom_and_the_wechat_link_only_in_content():
    data = b"\xef\xbb\xbf" + ATOM_CONTENT_ONLY.format(biz=BIZ, sn=SN).encode("utf-8")
    listings, _ = parse_feed(data, source="feed:atom")
    assert keys(listings) == [f"{BIZ}:300:2"]
    assert listings[0].title == "只在正文里的链接"
    assert listings[0].published_at == datetime(2026, 1, 26, 8, 0, 16, tzinfo=CHINA)


def test_feed_links_in_content_of_an_item_with_its_own_link_carry_no_metadata():
    body = f'<p><a href="{long_url(2)}">上一篇</a> <a href="https://mp.weixin.qq.com/s/Zz9">另一篇</a></p>'
    rss = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>本篇</title><link>{long_url(1).replace('&', '&amp;')}</link>"
        f"<description><![CDATA[{body}]]></description></item></channel></rss>"
    )
    listings, _ = parse_feed(rss.encode(), source="f")
    assert keys(listings) == [f"{BIZ}:1:1", f"{BIZ}:2:1", "s:Zz9"]
    assert [item.title for item in listings] == ["本篇", None, None]


def test_feed_that_is_not_a_feed_raises_source_error():
    with pytest.raises(SourceError) as caught:
        parse_feed(b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", source="f")
    assert "not an RSS or Atom feed" in str(caught.value)


def test_feed_is_fetched_from_its_own_configured_host(fake_wechat: FakeWeChat):
    data = RSS_GBK.format(link=long_url(200).replace("&", "&amp;")).encode("gbk")
    fake_wechat.add_route("https://rsshub.example/wechat/mp/gh_1", data, "application/rss+xml")
    relay = {**fake_wechat.relay, "rsshub.example": fake_wechat.base_url}
    with HttpClient(relay=relay, requests_per_second=None, retries=0) as http:
        assert "rsshub.example" not in http.allowed_hosts
        source = make_source(
            {"kind": "feed", "url": "https://rsshub.example/wechat/mp/gh_1"},
            SourceContext(http, Path(".")),
        )
        assert source.extra_hosts == frozenset({"rsshub.example"})
        listings = list(source.listings())
        assert "rsshub.example" not in http.allowed_hosts  # allowed for the feed's request only
    assert keys(listings) == [f"{BIZ}:200:1"]
    assert listings[0].source == "feed:rsshub.example/wechat/mp/gh_1"


# --------------------------------------------------------------------------- mp backend


def appmsgex(mid: int, idx: int, title: str, *, deleted: bool = False) -> dict[str, Any]:
    return {
        "aid": f"{mid}_{idx}",
        "appmsgid": mid,
        "itemidx": idx,
        "title": title,
        "link": f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid={mid}&idx={idx}&sn={SN}&chksm=ab#rd",
        "cover": f"https://mmbiz.qpic.cn/mmbiz_jpg/{mid}{idx}/0?wx_fmt=jpeg",
        "digest": f"{title}的摘要",
        "author_name": "作者",
        "create_time": 1700000000 + mid,
        "update_time": 1700000100 + mid,
        "copyright_stat": 1,
        "item_show_type": 0,
        "is_deleted": deleted,
    }


def publish_envelope(publishes: list[list[dict[str, Any]]], total: int) -> dict[str, Any]:
    publish_list = [
        {
            "publish_type": 1,
            "publish_info": json.dumps({"type": 9, "appmsgex": items}, ensure_ascii=False),
        }
        for items in publishes
    ]
    page = {"total_count": total, "publish_count": total, "publish_list": publish_list}
    return {
        "base_resp": {"ret": 0, "err_msg": "ok"},
        "publish_page": json.dumps(page, ensure_ascii=False),
    }


def serve_json(fake: FakeWeChat, url: str, body: dict[str, Any]) -> None:
    """Serve `body` at exactly this mp URL (path and query as the client sends them)."""
    fake.add_route(
        httpx.URL(url).raw_path.decode("ascii"),
        json.dumps(body, ensure_ascii=False),
        "application/json; charset=UTF-8",
    )


@pytest.fixture
def auth_file(tmp_path: Path) -> Path:
    path = tmp_path / "mp-auth.json"
    path.write_text(json.dumps({"cookie": COOKIE, "token": TOKEN}))
    path.chmod(0o600)
    return path


def mp_source(client: HttpClient | None, auth_file: Path, **extra: Any):
    table = {"kind": "mp", "fakeid": BIZ, "auth": auth_file.name, **extra}
    return make_source(table, SourceContext(client, auth_file.parent))


def test_publish_page_nested_json_strings_give_listings_without_deleted_items():
    body = publish_envelope(
        [
            [appmsgex(10, 1, "头条"), appmsgex(10, 2, "已删", deleted=True)],
            [appmsgex(9, 1, "次日")],
        ],
        total=7,
    )
    page = parse_publish_page(json.dumps(body).encode(), source="mp:x")
    assert keys(page.listings) == [f"{BIZ}:10:1", f"{BIZ}:9:1"]
    assert (page.entries, page.total) == (2, 7)
    first = page.listings[0]
    assert (first.title, first.digest, first.source) == ("头条", "头条的摘要", "mp:x")
    assert first.cover == "https://mmbiz.qpic.cn/mmbiz_jpg/101/0?wx_fmt=jpeg"
    assert first.published_at == datetime.fromtimestamp(1700000010, CHINA)


def test_mp_pages_appmsgpublish_with_the_cookie_until_a_short_page(
    fake_wechat: FakeWeChat, client: HttpClient, auth_file: Path
):
    first = [[appmsgex(100 - n, 1, f"第{n}次")] for n in range(5)]
    serve_json(fake_wechat, publish_url(BIZ, TOKEN, 0), publish_envelope(first, total=7))
    second = [[appmsgex(90, 1, "第5次")], [appmsgex(89, 1, "第6次"), appmsgex(89, 2, "副条")]]
    serve_json(fake_wechat, publish_url(BIZ, TOKEN, 5), publish_envelope(second, total=7))
    listings = list(mp_source(client, auth_file).listings())
    assert keys(listings) == [f"{BIZ}:{m}:1" for m in (100, 99, 98, 97, 96, 90, 89)] + [
        f"{BIZ}:89:2"
    ]
    sent = [r for r in fake_wechat.requests if r.path.startswith("/cgi-bin/")]
    assert [parse_qs(urlsplit(r.path).query)["begin"] for r in sent] == [["0"], ["5"]]
    assert {r.headers["cookie"] for r in sent} == {COOKIE}


def test_mp_falls_back_to_list_ex_when_appmsgpublish_fails(
    fake_wechat: FakeWeChat, client: HttpClient, auth_file: Path
):
    serve_json(
        fake_wechat,
        publish_url(BIZ, TOKEN, 0),
        {"base_resp": {"ret": -1, "err_msg": "system error"}},
    )
    items = [
        {
            "aid": "300_1",
            "title": "旧接口",
            "link": long_url(300),
            "cover": "",
            "digest": "",
            "create_time": 1600000000,
        }
    ]
    serve_json(
        fake_wechat,
        list_ex_url(BIZ, TOKEN, 0),
        {"base_resp": {"ret": 0}, "app_msg_list": items, "app_msg_cnt": 1},
    )
    source = mp_source(client, auth_file)
    listings = list(source.listings())
    assert keys(listings) == [f"{BIZ}:300:1"]
    assert listings[0].title == "旧接口"
    assert len(source.warnings) == 1
    assert "falling back to appmsg list_ex" in source.warnings[0]


def test_mp_freq_control_raises_try_later_saying_when_to_retry(
    fake_wechat: FakeWeChat, client: HttpClient, auth_file: Path
):
    serve_json(
        fake_wechat,
        publish_url(BIZ, TOKEN, 0),
        {"base_resp": {"ret": 200013, "err_msg": "freq control"}},
    )
    with pytest.raises(TryLater) as caught:
        list(mp_source(client, auth_file).listings())
    assert isinstance(caught.value, FreqControl)
    assert caught.value.retry_after == 6 * 3600
    assert "try again in 6 hours" in str(caught.value)
    assert not any(p.startswith("/cgi-bin/appmsg?") for p in fake_wechat.paths())


def test_mp_session_expired_tells_to_renew_the_token_without_showing_secrets(
    fake_wechat: FakeWeChat, client: HttpClient, auth_file: Path
):
    serve_json(
        fake_wechat,
        publish_url(BIZ, TOKEN, 0),
        {"base_resp": {"ret": 200003, "err_msg": "invalid session"}},
    )
    with pytest.raises(SessionExpired) as caught:
        list(mp_source(client, auth_file).listings())
    message = str(caught.value)
    assert "log in to mp.weixin.qq.com again and renew the cookie and token" in message
    assert TOKEN not in message and COOKIE not in message and "c2VjcmV0" not in message
    assert TOKEN not in repr(caught.value)
    assert caught.value.__context__ is None or TOKEN not in str(caught.value.__context__)


def test_mp_redirect_to_the_login_page_is_an_expired_session(
    fake_wechat: FakeWeChat, client: HttpClient, auth_file: Path
):
    fake_wechat.fault("/cgi-bin/", "redirect", location="https://mp.weixin.qq.com/")
    fake_wechat.add_route("/", "<!DOCTYPE html><html><title>微信公众平台</title></html>")
    with pytest.raises(SessionExpired) as caught:
        list(mp_source(client, auth_file).listings())
    assert "renew the cookie and token" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_mp_fetch_errors_are_reported_with_the_token_masked(
    fake_wechat: FakeWeChat, client: HttpClient, auth_file: Path
):
    source = mp_source(client, auth_file)  # nothing served: both APIs answer 404
    with pytest.raises(SourceError) as caught:
        list(source.listings())
    assert "HTTP 404" in str(caught.value)
    assert "token=***" in str(caught.value)
    for text in [str(caught.value), *source.warnings]:
        assert TOKEN not in text and COOKIE not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_mp_auth_file_readable_by_others_is_refused(auth_file: Path):
    auth_file.chmod(0o644)
    with pytest.raises(SourceConfigError) as caught:
        mp_source(None, auth_file).check()
    assert caught.value.key == "auth"
    assert "mode 0644" in str(caught.value) and "chmod 600" in str(caught.value)


def test_mp_auth_values_never_appear_in_reprs(auth_file: Path):
    source = mp_source(None, auth_file)
    auth = source.read_auth()
    assert (auth.cookie, auth.token) == (COOKIE, TOKEN)
    for text in (repr(auth), repr(source), str(vars(source))):
        assert TOKEN not in text and COOKIE not in text


def test_mp_auth_file_without_a_token_names_it(auth_file: Path):
    auth_file.write_text(json.dumps({"cookie": COOKIE}))
    with pytest.raises(SourceConfigError) as caught:
        mp_source(None, auth_file).check()
    assert caught.value.key == "auth"
    assert "has no 'token'" in str(caught.value)
    assert COOKIE not in str(caught.value)


def test_mp_max_pages_caps_the_requests(
    fake_wechat: FakeWeChat, client: HttpClient, auth_file: Path
):
    full = [[appmsgex(100 - n, 1, f"第{n}次")] for n in range(5)]
    serve_json(fake_wechat, publish_url(BIZ, TOKEN, 0), publish_envelope(full, total=50))
    listings = list(mp_source(client, auth_file, max_pages=1).listings())
    assert len(listings) == 5
    assert len([p for p in fake_wechat.paths() if p.startswith("/cgi-bin/")]) == 1


def test_list_ex_parser_reads_the_real_list_ex_items():
    path = SHARED_WECHAT / "mp-appmsg-list_ex-items-2020.jsonl"
    if not path.exists():
        pytest.skip(f"real list_ex items not found at {path}")
    items = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    body = {
        "base_resp": {"ret": 0, "err_msg": "ok"},
        "app_msg_list": items,
        "app_msg_cnt": len(items),
    }
    page = parse_list_ex(json.dumps(body).encode(), source="mp:real", fakeid="MjM5MDQ4MzU5NQ==")
    assert len(page.listings) == len(items) == 26
    for item, listing in zip(items, page.listings, strict=True):
        assert listing.link.key == f"MjM5MDQ4MzU5NQ==:{item['appmsgid']}:{item['itemidx']}"
        assert listing.title == item["title"]
        assert listing.published_at == datetime.fromtimestamp(item["create_time"], CHINA)
        assert (listing.cover, listing.digest) == (item["cover"], item["digest"] or None)


# --------------------------------------------------------------------------- seed

FOOTER = '<hr>\n<a href="{link}",target="_blank" rel="noopener noreferrer">原文链接</a>\n'


def seed_text(title: str, link: str) -> str:
    return (
        f'---\ntitle: "{title}"\ndate: 2026-01-26T00:00:16Z\ndraft: ["false"]\n'
        f'tags: ["fetched", "Neuronlink"]\ncategories: ["Acdemic"]\n---\n'
        f"{title} by Neuronlink\n------\n<p>正文</p>\n" + FOOTER.format(link=link)
    )


def test_seed_folder_is_read_recursively_in_order_with_bad_files_as_warnings(tmp_path: Path):
    root = tmp_path / "content"
    (root / "posts" / "2024").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "b.md").write_text(seed_text("乙", "https://mp.weixin.qq.com/s/Bbb"), encoding="utf-8")
    (root / "posts" / "2024" / "a.txt").write_text(seed_text("甲", long_url(7)), encoding="utf-8")
    cut = seed_text("断", "https://mp.weixin.qq.com/s/Cut")
    (root / "posts" / "broken.md").write_text(cut[: cut.index("<hr>")], encoding="utf-8")
    (root / "posts" / "about.md").write_text("---\ntitle: 关于\n---\n关于本站\n", encoding="utf-8")
    (root / "posts" / "notes.md").write_text("# 笔记\n\n没有文章。\n", encoding="utf-8")
    (root / "posts" / "link.md").write_text(
        '---\ntitle: "待抓取"\n---\nhttps://mp.weixin.qq.com/s/Link1\n', encoding="utf-8"
    )
    (root / ".git" / "c.md").write_text(seed_text("丙", "https://mp.weixin.qq.com/s/Ccc"))
    (root / "_index.md").write_text("---\ntitle: section\n---\n")
    (root / "notes.html").write_text("ignored")
    source = make_source({"kind": "seed", "path": "content"}, SourceContext(None, tmp_path))
    listings = list(source.listings())
    assert keys(listings) == ["s:Bbb", f"{BIZ}:7:1", "s:Link1"]
    assert [item.seed_path for item in listings] == [
        root / "b.md",
        root / "posts" / "2024" / "a.txt",
        None,
    ]
    assert [item.title for item in listings] == ["乙", "甲", "待抓取"]
    assert source.warnings == [
        "posts/broken.md: truncated: the closing '<hr>' and 原文链接 footer are missing; skipped"
    ]
    assert source.skipped == 2  # about.md and notes.md hold no article: counted, no warning


def test_seed_path_may_name_one_file(tmp_path: Path):
    (tmp_path / "one.md").write_text(seed_text("一", long_url(8)), encoding="utf-8")
    source = make_source({"kind": "seed", "path": "one.md"}, SourceContext(None, tmp_path))
    assert [(item.link.key, item.seed_path) for item in source.listings()] == [
        (f"{BIZ}:8:1", tmp_path / "one.md")
    ]


# --------------------------------------------------------------------------- follow links

BODY_WITH_LINKS = f"""
<p><a href="{long_url(11).replace("&", "&amp;")}">同号文章</a></p>
<p><a href="{long_url(12, biz=OTHER_BIZ).replace("&", "&amp;")}">别的号</a></p>
<p><a href="https://mp.weixin.qq.com/s/ShortOne">短链接</a></p>
<p><a href="{long_url(11)}">同号文章又一次</a></p>
<p><a href="https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&amp;album_id=1">合集</a></p>
"""


def test_followed_links_keep_the_same_account_and_short_links():
    links = followed_links(BODY_WITH_LINKS, from_biz=BIZ)
    assert [link.key for link in links] == [f"{BIZ}:11:1", "s:ShortOne"]


def test_followed_links_of_every_account_when_not_same_account_only():
    links = followed_links(BODY_WITH_LINKS, from_biz=BIZ, same_account_only=False)
    assert [link.key for link in links] == [f"{BIZ}:11:1", f"{OTHER_BIZ}:12:1", "s:ShortOne"]


def test_followed_links_keep_all_when_the_account_is_unknown():
    assert len(followed_links(BODY_WITH_LINKS, from_biz=None)) == 3
