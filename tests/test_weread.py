"""`kind = "weread"`: WeRead's article list of an account, through `harvester harvest`,
against tests/fakeweread.py; the MP_WXS_<n> ↔ biz mapping, also for feeds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fakeaccount import SimAccount
from fakewechat import FakeWeChat
from fakeweread import FakeWeRead
from test_harvest import add_article, harvest, query, urls_source, write_config

from harvester.sources.bookid import biz_of_book, book_id_in, book_id_of
from harvester.sources.feed import parse_feed
from harvester.sources.weread import parse_articles_page

BIZ = "MzkxMTAwMDAwMQ=="  # base64 of "3911000001"
BOOK = "MP_WXS_3911000001"


@pytest.fixture
def account(served: FakeWeChat) -> SimAccount:
    sim = SimAccount.generate(BIZ, sends=25, articles=50, in_albums=30)
    sim.install(served)
    return sim


@pytest.fixture
def weread(served: FakeWeChat, account: SimAccount) -> FakeWeRead:
    fake = FakeWeRead()
    fake.add(account)
    fake.install(served)
    return fake


def cookie_file(folder: Path, text: str, mode: int = 0o600) -> Path:
    path = folder / "weread-cookie.txt"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def weread_source(folder: Path, weread: FakeWeRead, *, extra: str = "") -> str:
    cookie_file(folder, weread.cookie)
    return f'[[sources]]\nkind = "weread"\nbiz = "{BIZ}"\ncookie = "weread-cookie.txt"\n{extra}\n'


# --------------------------------------------------------------------------- the mapping


def test_a_biz_and_its_weread_book_id_map_both_ways():
    assert book_id_of(BIZ) == BOOK
    assert biz_of_book(BOOK) == BIZ
    assert book_id_of("MzU1OTcwNDM1Mg") == "MP_WXS_3559704352"  # padding left out


def test_a_biz_that_holds_no_number_has_no_book_id():
    assert book_id_of("bm90IGEgbnVtYmVy") is None  # "not a number"
    assert book_id_of("!!") is None
    assert biz_of_book("MP_WXS_") is None
    assert biz_of_book("3911000001") is None


def test_a_feed_named_by_book_id_attributes_its_short_links_to_the_account():
    feed = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><id>https://mp.weixin.qq.com/s/AbC</id><title>a</title>"
        b'<link href="https://mp.weixin.qq.com/s/AbC"/></entry>'
        b"<entry><id>MP_WXS_3559704352_9</id><title>b</title>"
        b'<link href="https://mp.weixin.qq.com/s/DeF"/></entry></feed>'
    )
    url = f"https://rss.example/feeds/{BOOK}.atom"
    listings, _ = parse_feed(feed, biz=biz_of_book(book_id_in(url) or ""))
    assert [(item.link.key, item.biz) for item in listings] == [
        ("s:AbC", BIZ),
        ("s:DeF", "MzU1OTcwNDM1Mg=="),
    ]


def test_a_weread_page_gives_short_links_attributed_to_the_account():
    page = {
        "reviews": [
            {
                "createTime": 1767225600,
                "subCount": 2,
                "subReviews": [
                    {
                        "review": {
                            "mpInfo": {"originalId": "Ab_1", "title": "一", "time": 1767225600}
                        }
                    },
                    {"review": {"createTime": 1767225601, "mpInfo": {"originalId": "Cd-2"}}},
                ],
            }
        ]
    }
    parsed = parse_articles_page(json.dumps(page), biz=BIZ)
    assert parsed.groups == 1
    assert [(i.link.url, i.title, i.biz, i.published_at.isoformat()) for i in parsed.listings] == [
        ("https://mp.weixin.qq.com/s/Ab_1", "一", BIZ, "2026-01-01T08:00:00+08:00"),
        ("https://mp.weixin.qq.com/s/Cd-2", None, BIZ, "2026-01-01T08:00:01+08:00"),
    ]


# --------------------------------------------------------------------------- harvesting


def test_weread_lists_every_article_of_the_account_by_offset(
    served, account, weread, archive, tmp_path, capsys
):
    config = write_config(tmp_path, weread_source(tmp_path, weread))
    code, out, err = harvest(capsys, config)
    assert (code, out, err) == (0, "", "")
    assert weread.calls["articles"] == 3  # 25 sends: pages of 20 groups, then the empty one
    listed = [p for p in served.paths() if p.startswith("/web/mp/articles")]
    assert listed == [
        f"/web/mp/articles?bookId={BOOK}&offset=0",
        f"/web/mp/articles?bookId={BOOK}&offset=20",
        f"/web/mp/articles?bookId={BOOK}&offset=25",
    ]
    assert set(query(archive, "SELECT key FROM articles")) == {(k,) for k in account.article_keys()}
    assert query(archive, "SELECT count(DISTINCT key), min(biz), max(biz) FROM discovered") == [
        (50, BIZ, BIZ)
    ]


def test_weread_on_a_quiet_night_asks_for_one_page(
    served, account, weread, archive, tmp_path, capsys
):
    config = write_config(tmp_path, weread_source(tmp_path, weread))
    harvest(capsys, config)
    weread.calls.clear()
    code, _, err = harvest(capsys, config)
    assert (code, err, weread.calls["articles"]) == (0, "", 1)


@pytest.mark.parametrize(("mode", "answer"), [("expired", "errCode -2041"), ("401", "HTTP 401")])
def test_an_expired_weread_login_ends_that_source_only_with_one_line_and_exit_75(
    served, account, weread, archive, tmp_path, capsys, mode, answer
):
    weread.mode = mode
    other = add_article(served, 7001, biz="MzIwNjU2ODk1MQ==")
    sources = weread_source(tmp_path, weread) + urls_source(tmp_path, [other])
    code, _, err = harvest(capsys, write_config(tmp_path, sources))
    path = tmp_path / "weread-cookie.txt"
    assert code == 75
    lines = err.splitlines()
    assert lines[0] == (
        f"harvester: weread login expired: copy a fresh cookie into {path} "
        f"(weread source 'weread:{BIZ}'; WeRead answered {answer})"
    )
    assert lines[1].startswith("harvester: harvest try-later: 1 new, ")
    assert len(lines) == 2
    assert query(archive, "SELECT key FROM articles") == [("MzIwNjU2ODk1MQ==:7001:1",)]
    assert query(archive, "SELECT host FROM host_backoff") == []
    state = query(archive, "SELECT biz, channel, last_worked, last_error FROM channel_state")
    assert state == [(BIZ, "weread", None, lines[0].removeprefix("harvester: "))]


def test_a_weread_cookie_others_can_read_is_a_config_error(
    served, weread, archive, tmp_path, capsys
):
    config = write_config(tmp_path, weread_source(tmp_path, weread))
    os.chmod(tmp_path / "weread-cookie.txt", 0o644)
    code, _, err = harvest(capsys, config)
    assert code == 2
    assert "'cookie' names" in err and "must be mode 0600" in err
    assert weread.cookie not in err
    assert served.paths() == []


def test_a_wewe_rss_feed_named_by_book_id_counts_its_links_for_the_account(
    served, account, archive, tmp_path, capsys
):
    first, second = account.articles[:2]
    entries = "".join(
        f"<item><title>{a.title}</title><link>https://mp.weixin.qq.com/s/{a.short_id}</link>"
        f"<guid>{a.short_id}</guid></item>"
        for a in (first, second)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel>{entries}</channel></rss>'
    served.add_route(f"/feeds/{BOOK}.rss", feed, "application/rss+xml")
    sources = f'[[sources]]\nkind = "feed"\nurl = "{served.base_url}/feeds/{BOOK}.rss"\n'
    code, _, err = harvest(capsys, write_config(tmp_path, sources))
    assert (code, err) == (0, "")
    assert query(archive, "SELECT key, channel, biz FROM discovered ORDER BY key") == [
        (f"s:{first.short_id}", "feed", BIZ),
        (f"s:{second.short_id}", "feed", BIZ),
    ]


def test_a_verification_page_from_weread_backs_off_weread_only(
    served, account, weread, archive, tmp_path, capsys
):
    from fakewechat import VERIFY_HTML

    served.add_handler(
        "/web/mp/articles", lambda call: (200, VERIFY_HTML, "text/html"), host="weread.qq.com"
    )
    other = add_article(served, 7002, biz="MzIwNjU2ODk1MQ==")
    sources = weread_source(tmp_path, weread) + urls_source(tmp_path, [other])
    code, _, err = harvest(capsys, write_config(tmp_path, sources))
    assert code == 75
    assert "WeChat answered with its verification page" in err
    assert query(archive, "SELECT host FROM host_backoff") == [("weread.qq.com",)]
    assert query(archive, "SELECT key FROM articles") == [("MzIwNjU2ODk1MQ==:7002:1",)]
