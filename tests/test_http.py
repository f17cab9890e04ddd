"""harvester.http: the one HTTP client, exercised against the fake WeChat on loopback."""

from __future__ import annotations

import email.utils
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fakewechat import FakeWeChat, album_item, make_article_html, placeholder_png

from harvester.errors import InputError, TryLater
from harvester.http import (
    USER_AGENT,
    FetchError,
    ForbiddenHost,
    ForbiddenRedirect,
    HttpClient,
    RateLimited,
    check_url,
    declared_charset,
    decode_body,
    format_size,
    parse_relay,
    parse_retry_after,
    relay_from_env,
    relay_url,
    sniff_charset,
    unrelay_url,
)

BIZ = "MzA3NzM2Mjc4Mw=="
MID = "2650248852"
SN = "5f2b3c4d"
LONG_PATH = f"/s?__biz={BIZ}&mid={MID}&idx=1&sn={SN}"
LONG = f"https://mp.weixin.qq.com{LONG_PATH}"
SHORT = "https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw"
IMG_PATH = "/mmbiz_png/6hK0gQZC620qBlgySXvXNcJf/640?wx_fmt=png"
IMG = f"https://mmbiz.qpic.cn{IMG_PATH}"
MB = 1024 * 1024


class FakeTime:
    """An injectable clock whose sleep only moves the clock and records the wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def client_for(fake: FakeWeChat, **options) -> HttpClient:
    settings = {
        "relay": fake.relay,
        "requests_per_second": None,
        "concurrency": 4,
        "jitter": 0.0,
        "backoff_base": 0.001,
        "timeout": (2.0, 5.0),
    }
    settings.update(options)
    return HttpClient(**settings)


@pytest.fixture
def article(fake_wechat: FakeWeChat) -> str:
    page = make_article_html(
        "神经修复与再生", "Neuronlink", BIZ, MID, 1, SN, 1769385616, "<p>正文</p>", [IMG]
    )
    fake_wechat.add_article(BIZ, MID, 1, SN, page, short_id="A1E9RPbyYFRLOfhsP7B_Rw")
    return LONG


@pytest.fixture
def image(fake_wechat: FakeWeChat) -> bytes:
    return fake_wechat.add_image(IMG, fmt="png", size=(40, 30), seed=7)


# --------------------------------------------------------------------------- pure helpers


def test_parse_relay_maps_each_host_to_its_base() -> None:
    value = "mp.weixin.qq.com=http://127.0.0.1:8001, MMBIZ.qpic.cn=http://127.0.0.1:8002/cache/"
    assert parse_relay(value) == {
        "mp.weixin.qq.com": "http://127.0.0.1:8001",
        "mmbiz.qpic.cn": "http://127.0.0.1:8002/cache",
    }


def test_relay_from_env_unset_or_empty_is_no_relay() -> None:
    assert relay_from_env({}) == {}
    assert relay_from_env({"HARVESTER_RELAY": ""}) == {}
    assert relay_from_env({"HARVESTER_RELAY": "mp.weixin.qq.com=http://127.0.0.1:9"}) == {
        "mp.weixin.qq.com": "http://127.0.0.1:9"
    }


@pytest.mark.parametrize(
    "bad",
    [
        "mp.weixin.qq.com",
        "=http://127.0.0.1:8001",
        "mp.weixin.qq.com=127.0.0.1:8001",
        "mp.weixin.qq.com=ftp://127.0.0.1:8001",
        "https://mp.weixin.qq.com=http://127.0.0.1:8001",
        "mp.weixin.qq.com=http://127.0.0.1:8001/?x=1",
    ],
)
def test_relay_from_env_malformed_raises_input_error_naming_the_part(bad: str) -> None:
    value = f"mmbiz.qpic.cn=http://127.0.0.1:8001,{bad}"
    with pytest.raises(InputError) as caught:
        relay_from_env({"HARVESTER_RELAY": value})
    message = str(caught.value)
    assert message.startswith(f"HARVESTER_RELAY: bad entry {bad!r}: ")
    assert "\n" not in message


def test_relay_from_env_host_named_twice_is_malformed() -> None:
    value = "mp.weixin.qq.com=http://127.0.0.1:1,mp.weixin.qq.com=http://127.0.0.1:2"
    with pytest.raises(InputError, match="host named twice"):
        relay_from_env({"HARVESTER_RELAY": value})


def test_relay_url_keeps_path_and_query_under_the_base() -> None:
    relay = {"mp.weixin.qq.com": "http://127.0.0.1:8001/cache"}
    assert relay_url(LONG, relay) == f"http://127.0.0.1:8001/cache{LONG_PATH}"
    assert relay_url(IMG, relay) == IMG


def test_unrelay_url_maps_relay_bases_back_to_original_hosts() -> None:
    shared = {"mp.weixin.qq.com": "http://127.0.0.1:8001", "mmbiz.qpic.cn": "http://127.0.0.1:8001"}
    assert unrelay_url(f"http://127.0.0.1:8001{LONG_PATH}", shared, host="mp.weixin.qq.com") == LONG
    assert unrelay_url(f"http://127.0.0.1:8001{IMG_PATH}", shared, host="mmbiz.qpic.cn") == IMG
    prefixed = {"mp.weixin.qq.com": "http://127.0.0.1:8001/wx", "mmbiz.qpic.cn": "http://r:1"}
    assert unrelay_url(f"http://127.0.0.1:8001/wx{LONG_PATH}", prefixed, host="x") == LONG
    assert unrelay_url(f"http://r:1{IMG_PATH}", prefixed, host="mp.weixin.qq.com") == IMG
    assert unrelay_url(LONG, shared, host="mp.weixin.qq.com") == LONG
    assert unrelay_url("http://127.0.0.1:9/s", shared, host="mp.weixin.qq.com") == (
        "http://127.0.0.1:9/s"
    )


def test_unrelay_url_keeps_the_scheme_of_the_current_host() -> None:
    relay = {"mp.weixin.qq.com": "http://127.0.0.1:8001"}
    mapped = unrelay_url("http://127.0.0.1:8001/s/x", relay, host="mp.weixin.qq.com", scheme="http")
    assert mapped == "http://mp.weixin.qq.com/s/x"


def test_parse_retry_after_seconds_and_http_dates() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(" 120 ", now=now) == 120.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_charset_helpers() -> None:
    assert declared_charset("text/html; charset=GBK") == "gb18030"
    assert declared_charset('text/html; charset="utf-8"') == "utf-8"
    assert declared_charset("text/html") is None
    assert declared_charset("text/html; charset=no-such-codec") is None
    assert sniff_charset(b'<html><head><meta charset="gb2312">') == "gb18030"
    http_equiv = b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />'
    assert sniff_charset(http_equiv) == "gb18030"
    assert sniff_charset(b"<html><p>charset=gbk</p>") is None


def test_decode_body_prefers_bom_then_declared_then_meta_then_utf8() -> None:
    gbk_page = '<meta charset="gbk"><p>中文</p>'.encode("gbk")
    assert decode_body(b"\xef\xbb\xbf\xe4\xb8\xad", "text/html; charset=gbk") == "中"
    assert decode_body("中文".encode("gbk"), "text/html; charset=gbk") == "中文"
    assert decode_body(gbk_page, "text/html").endswith("<p>中文</p>")
    assert decode_body("中文".encode(), None) == "中文"
    assert decode_body(b"ok \xff", None) == "ok \ufffd"


def test_check_url_refuses_other_schemes_hosts_and_credentials() -> None:
    assert check_url(LONG).host == "mp.weixin.qq.com"
    with pytest.raises(ForbiddenHost, match="scheme 'ftp' refused"):
        check_url("ftp://mp.weixin.qq.com/s")
    with pytest.raises(ForbiddenHost, match=r"host 'evil\.example' is not an allowed WeChat host"):
        check_url("https://evil.example/s")
    with pytest.raises(ForbiddenHost, match=r"'sub\.mp\.weixin\.qq\.com' is not an allowed"):
        check_url("https://sub.mp.weixin.qq.com/s")
    with pytest.raises(ForbiddenHost, match="credentials"):
        check_url("https://mp.weixin.qq.com@evil.example/")
    with pytest.raises(ForbiddenHost, match="not an absolute"):
        check_url("/s?__biz=x")


def test_format_size() -> None:
    assert format_size(20 * MB) == "20 MB"
    assert format_size(3 * MB // 2) == "1.5 MB"
    assert format_size(1000) == "1000 bytes"


# --------------------------------------------------------------------------- relay and headers


def test_relay_sends_path_and_query_with_forwarded_host(fake_wechat, article) -> None:
    with client_for(fake_wechat) as client:
        response = client.get(LONG)
    assert (response.url, response.final_url, response.status) == (LONG, LONG, 200)
    assert "var msg_title = '神经修复与再生'.html(false);" in response.text
    [request] = fake_wechat.requests
    assert (request.method, request.path) == ("GET", LONG_PATH)
    assert request.headers["x-forwarded-host"] == "mp.weixin.qq.com"
    assert request.headers["host"] == fake_wechat.base_url.removeprefix("http://")


def test_relay_env_fixture_sets_the_variable_for_every_wechat_host(relay_env, fake_wechat):
    relay = relay_from_env({"HARVESTER_RELAY": relay_env})
    assert relay == {
        host: fake_wechat.base_url
        for host in (
            "mp.weixin.qq.com",
            "mmbiz.qpic.cn",
            "mmbiz.qlogo.cn",
            "mmecoa.qpic.cn",
            "mpvideo.qpic.cn",
            "res.wx.qq.com",
            "weread.qq.com",
        )
    }
    assert os.environ["HARVESTER_RELAY"] == relay_env


def test_article_pages_are_fetched_without_referer(fake_wechat, article) -> None:
    with client_for(fake_wechat) as client:
        client.get(LONG)
    assert "referer" not in fake_wechat.requests[0].headers


def test_image_hosts_get_the_wechat_referer_and_the_real_image(fake_wechat, image) -> None:
    with client_for(fake_wechat) as client:
        response = client.get(IMG, kind="image")
    assert fake_wechat.requests[0].headers["referer"] == "https://mp.weixin.qq.com/"
    assert fake_wechat.requests[0].headers["x-forwarded-host"] == "mmbiz.qpic.cn"
    assert response.content == image
    assert response.content_type == "image/png"


def test_fake_mmbiz_serves_a_placeholder_to_a_foreign_referer(fake_wechat, image) -> None:
    with client_for(fake_wechat) as client:
        response = client.get(IMG, kind="image", headers={"Referer": "https://blog.example/"})
    assert response.content == placeholder_png()
    assert response.content != image


def test_user_agent_is_a_desktop_chrome(fake_wechat, article) -> None:
    with client_for(fake_wechat) as client:
        client.get(LONG)
    agent = fake_wechat.requests[0].headers["user-agent"]
    assert agent == USER_AGENT
    assert agent.startswith("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36")
    assert " Chrome/" in agent and "python" not in agent.lower()


def test_api_kind_asks_for_json(fake_wechat) -> None:
    items = [
        album_item(f"第{n}篇", BIZ, 2650000000 + n, 1, f"sn{n}", 1700000000 + n) for n in (3, 2, 1)
    ]
    fake_wechat.add_album(BIZ, "1234", items)
    url = (
        f"https://mp.weixin.qq.com/mp/appmsgalbum?action=getalbum&__biz={BIZ}"
        "&album_id=1234&count=2&f=json"
    )
    with client_for(fake_wechat) as client:
        first = client.get(url, kind="api").json()
        last = items[1]
        more = f"{url}&begin_msgid={last['msgid']}&begin_itemidx={last['itemidx']}"
        second = client.get(more, kind="api").json()
    headers = fake_wechat.requests[0].headers
    assert headers["accept"].startswith("application/json")
    assert headers["x-requested-with"] == "XMLHttpRequest"
    assert first["base_resp"]["ret"] == 0
    assert [i["title"] for i in first["getalbum_resp"]["article_list"]] == ["第3篇", "第2篇"]
    assert first["getalbum_resp"]["continue_flag"] == "1"
    assert [i["title"] for i in second["getalbum_resp"]["article_list"]] == ["第1篇"]
    assert second["getalbum_resp"]["continue_flag"] == "0"


def test_no_cookies_are_kept_between_requests(fake_wechat, article) -> None:
    with client_for(fake_wechat) as client:
        first = client.get(LONG)
        client.get(LONG)
    assert "set-cookie" in first.headers
    assert "cookie" not in fake_wechat.requests[1].headers


# ------------------------------------------------------------------- allowlist and redirects


def test_forbidden_host_refused_before_any_request(fake_wechat) -> None:
    relay = {**fake_wechat.relay, "evil.example": fake_wechat.base_url}
    with client_for(fake_wechat, relay=relay) as client, pytest.raises(ForbiddenHost) as caught:
        client.get("https://evil.example/s?x=1")
    assert isinstance(caught.value, InputError)
    assert str(caught.value) == (
        "https://evil.example/s?x=1: host 'evil.example' is not an allowed WeChat host"
    )
    assert fake_wechat.requests == []


def test_also_allow_admits_a_configured_host_for_that_request_only_without_a_referer(
    fake_wechat,
) -> None:
    fake_wechat.add_route("https://rss.example/feed.xml", "<rss/>", "application/rss+xml")
    relay = {**fake_wechat.relay, "rss.example": fake_wechat.base_url}
    with client_for(fake_wechat, relay=relay) as client:
        response = client.get(
            "https://rss.example/feed.xml", kind="api", also_allow=["RSS.example"]
        )
        with pytest.raises(ForbiddenHost):
            client.get("https://rss.example/feed.xml", kind="api")
    assert response.text == "<rss/>"
    [request] = fake_wechat.requests
    assert request.headers["x-forwarded-host"] == "rss.example"
    assert "referer" not in request.headers


def test_also_allow_covers_that_requests_redirects_only_to_allowed_hosts(fake_wechat) -> None:
    fake_wechat.fault("/feed.xml", "redirect", location="https://evil.example/feed.xml")
    relay = {**fake_wechat.relay, "rss.example": fake_wechat.base_url}
    with client_for(fake_wechat, relay=relay) as client, pytest.raises(ForbiddenRedirect):
        client.get("https://rss.example/feed.xml", kind="api", also_allow=["rss.example"])
    assert [request.path for request in fake_wechat.requests] == ["/feed.xml"]


def test_non_http_scheme_refused(fake_wechat) -> None:
    with client_for(fake_wechat) as client, pytest.raises(ForbiddenHost, match="scheme 'file'"):
        client.get("file:///etc/passwd")
    assert fake_wechat.requests == []


def test_redirect_to_forbidden_host_is_refused(fake_wechat) -> None:
    fake_wechat.fault("/s/evil", "redirect", location="https://evil.example/steal")
    with client_for(fake_wechat) as client, pytest.raises(ForbiddenRedirect) as caught:
        client.get("https://mp.weixin.qq.com/s/evil")
    assert isinstance(caught.value, FetchError)
    assert caught.value.location == "https://evil.example/steal"
    assert caught.value.status == 302
    assert "host 'evil.example' is not an allowed WeChat host" in str(caught.value)
    assert fake_wechat.paths() == ["/s/evil"]


def test_short_link_redirect_is_followed_and_final_url_unrelayed(fake_wechat) -> None:
    page = make_article_html("标题", "号", BIZ, MID, 1, SN, 1700000000, "<p>x</p>")
    fake_wechat.add_article(BIZ, MID, 1, SN, page, short_id="Sh0rt", short_redirect=True)
    with client_for(fake_wechat) as client:
        response = client.get("https://mp.weixin.qq.com/s/Sh0rt")
    assert response.url == "https://mp.weixin.qq.com/s/Sh0rt"
    assert response.final_url == LONG
    assert fake_wechat.paths() == ["/s/Sh0rt", LONG_PATH]
    assert [r.headers["x-forwarded-host"] for r in fake_wechat.requests] == ["mp.weixin.qq.com"] * 2
    assert client.request_count("mp.weixin.qq.com") == 2


def test_relative_redirect_is_resolved_against_the_original_host(fake_wechat) -> None:
    fake_wechat.absolute_redirects = False
    page = make_article_html("标题", "号", BIZ, MID, 1, SN, 1700000000, "<p>x</p>")
    fake_wechat.add_article(BIZ, MID, 1, SN, page, short_id="Sh0rt", short_redirect=True)
    with client_for(fake_wechat) as client:
        response = client.get("https://mp.weixin.qq.com/s/Sh0rt")
    assert response.final_url == LONG


def test_redirect_pointing_at_the_relay_base_maps_back(fake_wechat, article) -> None:
    fake_wechat.fault("/s/via-relay", "redirect", location=fake_wechat.base_url + LONG_PATH)
    with client_for(fake_wechat) as client:
        response = client.get("https://mp.weixin.qq.com/s/via-relay")
    assert response.final_url == LONG
    assert fake_wechat.paths() == ["/s/via-relay", LONG_PATH]


def test_short_link_served_directly(fake_wechat, article) -> None:
    with client_for(fake_wechat) as client:
        response = client.get(SHORT)
    assert response.final_url == SHORT
    assert f'var sn = "" || "{SN}" || "";' in response.text


def test_relative_redirect_through_a_prefixed_relay_stays_under_the_prefix() -> None:
    seen: list[str] = []

    def relay(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/cache/s/Sh0rt":
            return httpx.Response(302, headers={"Location": LONG_PATH})
        return httpx.Response(200, text="ok")

    with HttpClient(
        relay={"mp.weixin.qq.com": "http://relay.test/cache"},
        requests_per_second=None,
        transport=httpx.MockTransport(relay),
    ) as client:
        response = client.get("https://mp.weixin.qq.com/s/Sh0rt")
    assert response.final_url == LONG
    assert seen == ["http://relay.test/cache/s/Sh0rt", f"http://relay.test/cache{LONG_PATH}"]


def test_more_than_five_redirects_is_a_fetch_error(fake_wechat) -> None:
    fake_wechat.fault("/loop", "redirect", location="/loop")
    with client_for(fake_wechat) as client, pytest.raises(FetchError) as caught:
        client.get("https://mp.weixin.qq.com/loop")
    assert str(caught.value) == "https://mp.weixin.qq.com/loop: more than 5 redirects"
    assert len(fake_wechat.requests) == 6


def test_verification_redirect_lands_on_the_captcha_page(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "verify", times=1)
    with client_for(fake_wechat) as client:
        response = client.get(LONG)
    assert response.final_url.startswith("https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?")
    assert "secitptpage/verify.html" in response.text
    assert "TCaptcha.js" in response.text


def test_fake_serves_notice_pages_on_demand(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "deleted", times=1)
    with client_for(fake_wechat) as client:
        deleted = client.get(LONG).text
        live = client.get(LONG).text
    assert '<div class="weui-msg__title warn">该内容已被发布者删除</div>' in deleted
    assert 'id="js_content" style="visibility: hidden;"' in live


def test_fake_runs_from_the_command_line(tmp_path) -> None:
    page = make_article_html("标题", "号", BIZ, MID, 1, SN, 1700000000, "<p>命令行</p>", [IMG])
    (tmp_path / "Sh0rt.html").write_text(page, encoding="utf-8")
    script = Path(__file__).with_name("fakewechat.py")
    command = [sys.executable, str(script), "--port", "0", "--articles", str(tmp_path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        try:
            banner = server.stdout.readline()
            relay = relay_from_env({"HARVESTER_RELAY": server.stdout.readline().split("=", 1)[1]})
            with HttpClient(relay=relay, requests_per_second=None) as client:
                text = client.get("https://mp.weixin.qq.com/s/Sh0rt").text
                picture = client.get(IMG, kind="image")
        finally:
            server.terminate()
            server.wait(5)
    assert banner.startswith("fake WeChat on http://127.0.0.1:") and "(1 articles)" in banner
    assert "<p>命令行</p>" in text
    assert picture.content_type == "image/png" and picture.content.startswith(b"\x89PNG")


# --------------------------------------------------------------------------- retries


def test_500_is_retried_then_succeeds(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "500", times=2)
    clock = FakeTime()
    with client_for(fake_wechat, sleep=clock.sleep, clock=clock.clock) as client:
        response = client.get(LONG)
        assert client.request_count("mp.weixin.qq.com") == 3
        assert client.request_count("mmbiz.qpic.cn") == 0
    assert response.status == 200
    assert fake_wechat.paths() == [LONG_PATH] * 3
    assert clock.sleeps == [0.001, 0.002]


def test_500_every_time_is_a_fetch_error_after_4_attempts(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "500")
    clock = FakeTime()
    with client_for(fake_wechat, sleep=clock.sleep) as client, pytest.raises(FetchError) as caught:
        client.get(LONG)
    assert str(caught.value) == f"{LONG}: HTTP 500 after 4 attempts"
    assert (caught.value.status, caught.value.attempts) == (500, 4)
    assert len(fake_wechat.requests) == 4
    assert clock.sleeps == [0.001, 0.002, 0.004]


def test_404_is_a_fetch_error_at_once(fake_wechat) -> None:
    url = "https://mp.weixin.qq.com/s/missing"
    with client_for(fake_wechat) as client, pytest.raises(FetchError) as caught:
        client.get(url)
    assert str(caught.value) == f"{url}: HTTP 404"
    assert caught.value.status == 404
    assert len(fake_wechat.requests) == 1


def test_429_retry_after_seconds_is_waited(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "429", times=1, retry_after="7")
    clock = FakeTime()
    with client_for(fake_wechat, sleep=clock.sleep, clock=clock.clock) as client:
        response = client.get(LONG)
    assert response.status == 200
    assert clock.sleeps == [7.0]
    assert len(fake_wechat.requests) == 2


def test_429_retry_after_http_date_is_waited(fake_wechat, article) -> None:
    now = 1_800_000_000.0
    fake_wechat.fault(
        "/s", "429", times=1, retry_after=email.utils.formatdate(now + 30, usegmt=True)
    )
    clock = FakeTime()
    with client_for(fake_wechat, sleep=clock.sleep, wall_clock=lambda: now) as client:
        client.get(LONG)
    assert clock.sleeps == [30.0]


def test_429_beyond_the_cap_raises_rate_limited(fake_wechat, article) -> None:
    now = 1_800_000_000.0
    fake_wechat.fault("/s", "429", retry_after="600")
    clock = FakeTime()
    with (
        client_for(fake_wechat, sleep=clock.sleep, wall_clock=lambda: now) as client,
        pytest.raises(RateLimited) as caught,
    ):
        client.get(LONG)
    assert isinstance(caught.value, TryLater)
    assert (caught.value.retry_after, caught.value.retry_at) == (600.0, now + 600)
    assert str(caught.value) == f"{LONG}: rate limited (HTTP 429), retry after 600 s"
    assert clock.sleeps == []
    assert len(fake_wechat.requests) == 1


def test_429_on_every_attempt_raises_rate_limited(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "429", retry_after="1")
    clock = FakeTime()
    with client_for(fake_wechat, sleep=clock.sleep) as client, pytest.raises(RateLimited):
        client.get(LONG)
    assert clock.sleeps == [1.0, 1.0, 1.0]
    assert len(fake_wechat.requests) == 4


def test_dropped_connection_is_retried_then_succeeds(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "drop", times=1)
    with client_for(fake_wechat) as client:
        assert client.get(LONG).status == 200
    assert len(fake_wechat.requests) == 2


def test_dropped_connection_every_time_is_a_fetch_error(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "drop")
    with client_for(fake_wechat) as client, pytest.raises(FetchError) as caught:
        client.get(LONG)
    assert str(caught.value) == (
        f"{LONG}: server closed the connection without answering after 4 attempts"
    )
    assert caught.value.status is None
    assert len(fake_wechat.requests) == 4


def test_truncated_body_is_retried_then_succeeds(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "truncate", times=2)
    with client_for(fake_wechat) as client:
        response = client.get(LONG)
    assert response.text.rstrip().endswith("</html>")
    assert len(fake_wechat.requests) == 3


def test_truncated_body_every_time_is_a_fetch_error(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "truncate")
    with client_for(fake_wechat) as client, pytest.raises(FetchError) as caught:
        client.get(LONG)
    message = str(caught.value)
    assert message.startswith(f"{LONG}: body truncated (")
    assert message.endswith(") after 4 attempts")
    assert len(fake_wechat.requests) == 4


def test_read_timeout_is_retried(fake_wechat, article) -> None:
    fake_wechat.fault("/s", "slow", times=1, seconds=2.0)
    with client_for(fake_wechat, timeout=(2.0, 0.3)) as client:
        assert client.get(LONG).status == 200
    assert len(fake_wechat.requests) == 2


def test_connection_refused_is_a_fetch_error_after_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = {"mp.weixin.qq.com": f"http://127.0.0.1:{port}"}
    with (
        HttpClient(relay=dead, requests_per_second=None, backoff_base=0.001) as client,
        pytest.raises(FetchError) as caught,
    ):
        client.get(LONG)
    assert str(caught.value) == f"{LONG}: connection refused after 4 attempts"
    assert client.request_count("mp.weixin.qq.com") == 4


def test_a_host_that_refuses_three_requests_in_a_row_is_down_for_the_client() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = {"mp.weixin.qq.com": f"http://127.0.0.1:{port}"}
    with HttpClient(relay=dead, requests_per_second=None, backoff_base=0.001) as client:
        for _ in range(3):
            with pytest.raises(FetchError, match="connection refused after 4 attempts"):
                client.get(LONG)
        with pytest.raises(FetchError) as caught:
            client.get(LONG)
    assert str(caught.value) == (
        f"{LONG}: mp.weixin.qq.com is down: 3 requests in a row could not connect; "
        "not tried again this run"
    )
    assert client.request_count("mp.weixin.qq.com") == 12


def test_any_answer_from_a_host_resets_its_count_of_failed_connections(fake_wechat, article):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with client_for(fake_wechat) as client:
        live = client.relay["mp.weixin.qq.com"]
        for _ in range(2):
            client.relay["mp.weixin.qq.com"] = f"http://127.0.0.1:{port}"
            for _ in range(2):
                with pytest.raises(FetchError, match="connection refused after"):
                    client.get(LONG)
            client.relay["mp.weixin.qq.com"] = live
            assert client.get(LONG).status == 200


# --------------------------------------------------------------------------- size cap


def _wait_for_oversize_record(fake: FakeWeChat) -> int:
    deadline = time.monotonic() + 5
    while not fake.oversize_sent and time.monotonic() < deadline:
        time.sleep(0.01)
    return fake.oversize_sent[0]


def test_oversize_streamed_body_is_abandoned_early(fake_wechat) -> None:
    size = 64 * MB
    fake_wechat.fault("/s/big", "oversize", size=size)
    url = "https://mp.weixin.qq.com/s/big"
    with client_for(fake_wechat) as client, pytest.raises(FetchError) as caught:
        client.get(url, max_bytes=100_000)
    assert str(caught.value) == f"{url}: body larger than 100000 bytes"
    assert len(fake_wechat.requests) == 1
    assert _wait_for_oversize_record(fake_wechat) < size // 4


def test_oversize_declared_length_is_refused_from_the_headers(fake_wechat) -> None:
    size = 64 * MB
    fake_wechat.fault("/s/big", "oversize", size=size, declare_length=True)
    with client_for(fake_wechat) as client, pytest.raises(FetchError, match="larger than 1 MB"):
        client.get("https://mp.weixin.qq.com/s/big", max_bytes=MB)
    assert _wait_for_oversize_record(fake_wechat) < size // 4


def test_default_cap_is_20_mb(fake_wechat) -> None:
    fake_wechat.fault(IMG_PATH, "oversize", size=21 * MB)
    with client_for(fake_wechat) as client, pytest.raises(FetchError) as caught:
        client.get(IMG, kind="image")
    assert str(caught.value) == f"{IMG}: body larger than 20 MB"


def test_image_kind_refuses_an_html_answer(fake_wechat) -> None:
    fake_wechat.fault(IMG_PATH, "html_image")
    with client_for(fake_wechat) as client, pytest.raises(FetchError) as caught:
        client.get(IMG, kind="image")
    assert str(caught.value) == f"{IMG}: expected an image, got text/html; charset=utf-8"
    assert caught.value.status == 200


# --------------------------------------------------------------------------- charsets


def test_text_uses_the_declared_charset(fake_wechat) -> None:
    fake_wechat.add_route("/gbk", "<p>微信公众号</p>".encode("gbk"), "text/html; charset=GBK")
    with client_for(fake_wechat) as client:
        assert client.get("https://mp.weixin.qq.com/gbk").text == "<p>微信公众号</p>"


def test_text_sniffs_the_meta_charset(fake_wechat) -> None:
    page = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">'
    fake_wechat.add_route("/meta", (page + "<p>文章</p>").encode("gbk"), "text/html")
    with client_for(fake_wechat) as client:
        assert client.get("https://mp.weixin.qq.com/meta").text.endswith("<p>文章</p>")


def test_text_defaults_to_utf8_with_replacement(fake_wechat) -> None:
    fake_wechat.add_route("/plain", "<p>文章</p>".encode() + b"\xff", "text/html")
    with client_for(fake_wechat) as client:
        assert client.get("https://mp.weixin.qq.com/plain").text == "<p>文章</p>\ufffd"


# --------------------------------------------------------------------------- politeness


def test_rate_limit_spaces_requests_to_one_host(fake_wechat, article, image) -> None:
    clock = FakeTime()
    with client_for(
        fake_wechat, requests_per_second=2, sleep=clock.sleep, clock=clock.clock
    ) as client:
        for _ in range(3):
            client.get(LONG)
    assert clock.sleeps == [0.5, 0.5]


def test_rate_limit_is_per_host(fake_wechat, article, image) -> None:
    clock = FakeTime()
    with client_for(
        fake_wechat, requests_per_second=1, sleep=clock.sleep, clock=clock.clock
    ) as client:
        client.get(LONG)
        client.get(IMG, kind="image")
        client.get(IMG, kind="image")
    assert clock.sleeps == [1.0]


def test_host_limits_give_one_host_its_own_rate(fake_wechat, article, image) -> None:
    clock = FakeTime()
    with client_for(
        fake_wechat,
        requests_per_second=1,
        host_limits={"mmbiz.qpic.cn": (4, 2)},
        sleep=clock.sleep,
        clock=clock.clock,
    ) as client:
        client.get(IMG, kind="image")
        client.get(IMG, kind="image")
        client.get(LONG)
        client.get(LONG)
    assert clock.sleeps == [0.25, 1.0]


def test_rate_limit_adds_jitter_as_a_fraction_of_the_interval(fake_wechat, article) -> None:
    clock = FakeTime()
    with client_for(
        fake_wechat,
        requests_per_second=1,
        jitter=0.4,
        rng=FixedRandom(0.5),
        sleep=clock.sleep,
        clock=clock.clock,
    ) as client:
        client.get(LONG)
        client.get(LONG)
    assert clock.sleeps == [pytest.approx(1.2)]


def test_rate_limit_is_shared_across_threads(fake_wechat, article) -> None:
    with (
        client_for(fake_wechat, requests_per_second=10, concurrency=4) as client,
        ThreadPoolExecutor(4) as pool,
    ):
        list(pool.map(lambda _: client.get(LONG), range(4)))
    times = sorted(fake_wechat.request_times)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Starts are 0.1 s apart; arrival times at the server add some scheduling noise.
    assert len(times) == 4
    assert min(gaps) >= 0.07
    assert times[-1] - times[0] >= 0.27


def test_concurrency_cap_per_host(fake_wechat, article) -> None:
    fake_wechat.latency = 0.15
    with client_for(fake_wechat, concurrency=2) as client, ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda _: client.get(LONG), range(6)))
    assert [r.status for r in responses] == [200] * 6
    assert fake_wechat.max_in_flight == 2


def test_threads_share_one_client_safely(fake_wechat) -> None:
    urls = {}
    for n in range(12):
        url = f"https://mmbiz.qpic.cn/mmbiz_jpg/img{n}/640?wx_fmt=jpeg"
        urls[url] = fake_wechat.add_image(url, fmt="jpeg", seed=n)
    with client_for(fake_wechat, concurrency=6) as client, ThreadPoolExecutor(6) as pool:
        got = dict(pool.map(lambda u: (u, client.get(u, kind="image").content), urls))
        assert client.request_count("mmbiz.qpic.cn") == 12
    assert got == urls


# --------------------------------------------------------------------------- network guard


def test_network_guard_refuses_a_raw_socket_to_the_internet() -> None:
    with socket.socket() as sock, pytest.raises(RuntimeError, match=r"203\.0\.113\.7"):
        sock.connect(("203.0.113.7", 443))


def test_network_guard_refuses_httpx_to_wechat() -> None:
    with pytest.raises(RuntimeError, match=r"network guard.*mp\.weixin\.qq\.com"):
        httpx.get("https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw")


def test_client_without_relay_fails_loudly_under_the_guard() -> None:
    with HttpClient(requests_per_second=None) as client, pytest.raises(RuntimeError) as caught:
        client.get(SHORT)
    assert not isinstance(caught.value, FetchError)
    assert "network guard" in str(caught.value)
    assert "mp.weixin.qq.com" in str(caught.value)


def test_network_guard_lets_loopback_through() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted = threading.Thread(target=lambda: server.accept()[0].close())
    accepted.start()
    try:
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    finally:
        accepted.join(2)
        server.close()


def test_network_guard_also_stops_python_subprocesses_started_by_tests() -> None:
    probe = "import socket; socket.create_connection(('203.0.113.7', 80), timeout=1)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 1
    assert "network guard: a test may only reach loopback; refused '203.0.113.7'" in result.stderr


def test_post_sends_the_form_and_follows_a_redirect_with_a_get(http_client, fake_wechat):
    seen = []

    def handler(call):
        seen.append((call.method, call.form(), call.headers.get("content-type")))
        if call.method == "POST":
            return 200, {"ok": call.form()["req"]}, "application/json"
        return 200, {"ok": "get"}, "application/json"

    fake_wechat.add_handler("/mp/getainfo", handler)
    response = http_client.post("https://mp.weixin.qq.com/mp/getainfo?f=json", {"req": "[1]"})
    assert response.json() == {"ok": "[1]"}
    assert seen == [("POST", {"req": "[1]"}, "application/x-www-form-urlencoded")]
    fake_wechat.fault("/mp/getainfo", "redirect", times=1, location="/mp/getainfo?again=1")
    response = http_client.post("https://mp.weixin.qq.com/mp/getainfo?f=json", {"req": "[2]"})
    assert response.json() == {"ok": "get"}
    assert seen[-1] == ("GET", {}, None)
