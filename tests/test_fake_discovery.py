"""The discovery fakes speak their protocols (tests/fakeaccount.py, tests/fakeweread.py).

The sources are tested against these fakes, so the fakes are held to the shapes their
module docstrings cite: a wrong fake would make a wrong source pass.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from fakeaccount import SimAccount
from fakewechat import FakeWeChat
from fakeweread import FakeWeRead, book_id

BIZ = "MzkxMTAwMDAwMQ=="


@pytest.fixture
def account(fake_wechat: FakeWeChat) -> Iterator[SimAccount]:
    sim = SimAccount.generate(BIZ, sends=30, articles=60, in_albums=40)
    sim.install(fake_wechat)
    yield sim


def call(fake: FakeWeChat, path: str, *, host: str = "mp.weixin.qq.com", data=None, cookie=""):
    request = urllib.request.Request(fake.base_url + path, data=data)
    request.add_header("X-Forwarded-Host", host)
    if cookie:
        request.add_header("Cookie", cookie)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def ext(fake: FakeWeChat, mid: int, idx: int) -> dict:
    query = urllib.parse.urlencode({"__biz": BIZ, "mid": mid, "idx": idx, "f": "json"})
    return json.loads(call(fake, f"/mp/getappmsgext?{query}")[1])


def ainfo(fake: FakeWeChat, pairs: list[tuple[int, int]]) -> dict:
    urls = [f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={m}&idx={i}" for m, i in pairs]
    form = urllib.parse.urlencode({"req": json.dumps({"url": urls})}).encode()
    return json.loads(call(fake, f"/mp/getainfo?f=json&__biz={BIZ}", data=form)[1])


def test_getappmsgext_names_the_album_and_its_neighbours(fake_wechat, account):
    album = next(iter(account.albums))
    members = account.album_members(album)[::-1]  # oldest first
    at = next(n for n in range(1, len(members) - 1) if members[n].albums[0] == album)
    older, middle, newer = members[at - 1 : at + 2]
    answer = ext(fake_wechat, middle.mid, middle.idx)["appmsg_album_extinfo"]
    assert answer["album_id_str"] == album
    assert answer["pre_article_link"].replace("&amp;", "&") == account.link(older)
    assert answer["next_article_link"].replace("&amp;", "&") == account.link(newer)


def test_getappmsgext_of_an_article_in_no_album_has_no_extinfo(fake_wechat, account):
    loner = next(a for a in account.articles if not a.albums)
    answer = ext(fake_wechat, loner.mid, loner.idx)
    assert answer["base_resp"]["ret"] == 0
    assert "appmsg_album_extinfo" not in answer


def test_getainfo_answers_only_the_links_that_exist(fake_wechat, account):
    first = account.articles[0]
    answer = ainfo(fake_wechat, [(first.mid, first.idx), (first.mid, 9), (1, 1)])
    assert answer["base_resp"]["ret"] == 0
    assert answer["ainfos"] == [{"url": account.link(first), "title": first.title}]


def test_getainfo_failure_answers(fake_wechat, account):
    first = account.articles[0]
    account.getainfo_mode = "empty"
    assert ainfo(fake_wechat, [(first.mid, 1)])["ainfos"] == []
    account.getainfo_mode = "freq"
    assert ainfo(fake_wechat, [(first.mid, 1)])["base_resp"]["ret"] == 200013
    assert ainfo(fake_wechat, [(first.mid, 1)] * 51)["base_resp"]["ret"] == 200013
    account.getainfo_mode = "ok"
    assert ainfo(fake_wechat, [(first.mid, 1)] * 51)["base_resp"]["ret"] == -2
    fake_wechat.fault("/mp/getainfo", "verify", times=1)
    status, _ = call(fake_wechat, f"/mp/getainfo?f=json&__biz={BIZ}", data=b"req=%7B%7D")
    assert status == 302


def test_article_pages_name_their_albums(fake_wechat, account):
    article = next(a for a in account.articles if a.albums)
    status, page = call(fake_wechat, f"/s/{article.short_id}")
    assert status == 200
    assert f"album_id={article.albums[0]}".encode() in page
    assert f"album_id: '{article.albums[0]}'".encode() in page


def test_weread_pages_groups_by_offset_until_empty(fake_wechat, account):
    weread = FakeWeRead()
    book = weread.add(account)
    weread.install(fake_wechat)
    assert book == "MP_WXS_3911000001"
    assert book_id(BIZ) == book
    seen = []
    offset = 0
    while True:
        path = f"/web/mp/articles?bookId={book}&offset={offset}"
        _, body = call(fake_wechat, path, host="weread.qq.com", cookie=weread.cookie)
        groups = json.loads(body)["reviews"]
        if not groups:
            break
        offset += len(groups)
        seen += [s["review"]["mpInfo"]["originalId"] for g in groups for s in g["subReviews"]]
    assert offset == 30
    assert sorted(seen) == sorted(a.short_id for a in account.articles)


def test_weread_expiry_answers(fake_wechat, account):
    weread = FakeWeRead()
    book = weread.add(account)
    weread.install(fake_wechat)
    path = f"/web/mp/articles?bookId={book}&offset=0"
    status, body = call(fake_wechat, path, host="weread.qq.com", cookie="wr_skey=old")
    assert (status, json.loads(body)["errCode"]) == (200, -2041)
    weread.mode = "401"
    status, body = call(fake_wechat, path, host="weread.qq.com", cookie=weread.cookie)
    assert (status, json.loads(body)["errCode"]) == (401, -2012)
