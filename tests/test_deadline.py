"""Every request has a total deadline: connect, headers and body (issue 11, item 8).

A loopback server trickles its answer a byte every 0.2 s: its status line and headers, or
its body. Each read is quick, so no read timeout fires; the deadline (1.5 s here, set by
the client's `deadline` or HARVESTER_DEADLINE_SECONDS) ends the attempt. Elapsed times are
checked against generous bounds: the trickles would take a minute and more.
"""

from __future__ import annotations

import time

import pytest
from fakewechat import FakeWeChat
from test_archiving import add_article, harvester
from test_http import LONG_PATH, client_for

from harvester.http import FetchError

DEADLINE = 1.5
URL = f"https://mp.weixin.qq.com{LONG_PATH}"


@pytest.fixture
def article_page(fake_wechat: FakeWeChat) -> str:
    fake_wechat.add_route(LONG_PATH, "<html>" + "正文" * 4000 + "</html>")
    return URL


def timed_failure(fake: FakeWeChat, url: str, **options) -> tuple[FetchError, float]:
    started = time.monotonic()
    with client_for(fake, **options) as client, pytest.raises(FetchError) as failed:
        client.get(url)
    return failed.value, time.monotonic() - started


@pytest.mark.parametrize("trickled", ["trickle_headers", "trickle_body"])
def test_a_trickled_answer_fails_at_the_deadline_naming_the_url(
    fake_wechat, article_page, trickled
):
    fake_wechat.fault("/s", trickled, interval=0.2)
    error, elapsed = timed_failure(fake_wechat, article_page, deadline=DEADLINE, retries=0)
    assert str(error) == f"{URL}: took longer than 1.5 s after 1 attempt"
    assert elapsed < DEADLINE + 2.0


def test_a_post_whose_answer_trickles_fails_at_the_deadline(fake_wechat):
    fake_wechat.add_handler("/mp/getainfo", lambda call: (200, {"ok": 1}, "application/json"))
    fake_wechat.fault("/mp/getainfo", "trickle_body", interval=0.2)
    url = "https://mp.weixin.qq.com/mp/getainfo?f=json"
    started = time.monotonic()
    with (
        client_for(fake_wechat, deadline=DEADLINE, retries=0) as client,
        pytest.raises(FetchError) as failed,
    ):
        client.post(url, {"req": "[1]"})
    assert str(failed.value) == f"{url}: took longer than 1.5 s after 1 attempt"
    assert time.monotonic() - started < DEADLINE + 2.0


def test_a_reused_connection_keeps_the_deadline(fake_wechat, article_page):
    with client_for(fake_wechat, deadline=DEADLINE, retries=0) as client:
        assert client.get(article_page).status == 200  # the connection stays open
        fake_wechat.fault("/s", "trickle_headers", interval=0.2)
        started = time.monotonic()
        with pytest.raises(FetchError) as failed:
            client.get(article_page)
        elapsed = time.monotonic() - started
    assert str(failed.value) == f"{URL}: took longer than 1.5 s after 1 attempt"
    assert fake_wechat.connections_opened == 1  # the second request gave no connect event
    assert elapsed < DEADLINE + 2.0


def test_a_request_that_took_too_long_is_retried_and_each_attempt_has_the_deadline(
    fake_wechat, article_page
):
    fake_wechat.fault("/s", "trickle_headers", times=1, interval=0.2)
    with client_for(fake_wechat, deadline=DEADLINE, retries=1) as client:
        started = time.monotonic()
        response = client.get(article_page)
        elapsed = time.monotonic() - started
    assert (response.status, len(fake_wechat.requests)) == (200, 2)
    assert DEADLINE <= elapsed < DEADLINE + 2.0


def test_an_answer_within_the_deadline_is_not_cut(fake_wechat, article_page):
    fake_wechat.fault("/s", "slow", seconds=0.5)
    with client_for(fake_wechat, deadline=DEADLINE, retries=0) as client:
        assert client.get(article_page).status == 200


def test_fetch_of_a_trickled_page_ends_with_one_line_within_its_attempts(
    served, archive, capsys, monkeypatch
):
    monkeypatch.setenv("HARVESTER_DEADLINE_SECONDS", str(DEADLINE))
    url = add_article(served, 400, images=())
    served.fault("/s", "trickle_headers", interval=0.2)
    started = time.monotonic()
    code, out, err = harvester(capsys, "fetch", url, "--archive", str(archive))
    elapsed = time.monotonic() - started
    assert (code, err) == (1, f"harvester: {url}: took longer than 1.5 s after 4 attempts\n")
    assert out.startswith("0 new, 0 updated, 0 unchanged, 0 deleted, 1 failed")
    assert elapsed < 4 * DEADLINE + 6.0  # four attempts (three retries), each cut at 1.5 s
