"""archive/times.py: one China time zone, and every reader of a date agreeing on its day."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive.times import (
    CHINA,
    from_unix,
    in_china,
    iso_china,
    iso_utc,
    local_when,
    parse_time,
    utc_stamp,
)
from harvester.cli import main

SEED = """---
title: "时间测试"
date: {date}
draft: ["false"]
tags: ["fetched", "神经科学"]
categories: ["Acdemic"]
---
时间测试 by 神经科学
------
<div><p><span leaf>正文。</span></p></div>
<hr>
<a href="https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw",target="_blank">原文链接</a>
"""


def test_a_time_without_a_zone_is_china_time():
    assert parse_time("2020-12-24T20:30") == datetime(2020, 12, 24, 20, 30, tzinfo=CHINA)


def test_a_time_in_utc_keeps_its_zone():
    assert parse_time("2026-01-26T00:00:16Z") == datetime(2026, 1, 26, 0, 0, 16, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "  ", "yesterday", "2026-13-01", None, 5])
def test_what_is_not_a_time_reads_as_none(text):
    assert parse_time(text) is None


def test_china_time_is_written_with_its_offset():
    assert iso_china(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == "2026-01-01T08:00:00+08:00"
    assert iso_china(None) is None


def test_a_naive_moment_is_china_time_for_publish_times_and_utc_for_stored_ones():
    naive = datetime(2026, 1, 1, 8, 0)
    assert in_china(naive) == datetime(2026, 1, 1, 8, 0, tzinfo=CHINA)
    assert iso_utc(naive) == "2026-01-01T08:00:00+00:00"
    assert utc_stamp(naive) == "20260101T080000Z"


def test_stored_times_are_utc_and_text_passes_through():
    moment = datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    assert iso_utc(moment) == "2026-01-01T00:00:00+00:00"
    assert iso_utc("2026-01-01T00:00:00+00:00") == "2026-01-01T00:00:00+00:00"


def test_unix_times_are_china_time():
    assert from_unix(1767225600) == datetime(2026, 1, 1, 8, 0, tzinfo=CHINA)


def test_a_seed_date_without_a_zone_gives_the_same_day_in_front_matter_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    seed = tmp_path / "seed.md"
    seed.write_text(SEED.format(date="2020-12-24T20:30"), encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["convert", str(seed), "--out-dir", str(tmp_path / "out")])
    assert exited.value.code == 0
    [written] = (tmp_path / "out").rglob("*.md")
    assert written.parent.name == "2020"
    assert written.name.startswith("2020-12-24-时间测试-")
    assert "\ndate: 2020-12-24T20:30:00+08:00\n" in written.read_text(encoding="utf-8")
    capsys.readouterr()


def test_a_time_people_read_is_local_time_with_its_offset(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert local_when(datetime(2026, 12, 3, 0, 30, tzinfo=UTC)) == "2026-12-03 08:30 +08:00"
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00", "1900-01-01"])
def test_a_time_no_article_can_have_is_no_time(text):
    assert parse_time(text) is None
