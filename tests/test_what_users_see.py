"""What a user sees (issue 12), item by item: the command line in its own process, as cron
or a shell runs it, against the fake WeChat on loopback; the exact summary line, message
and exit code.

Items tested through real processes elsewhere: the read-only archive (3) in
test_readonly.py, `/-/search` paging (4) and search taking every word (12) in
test_serve.py, exit codes command by command (8) and bare-link messages (12) in test_exit_codes.py,
an interrupted import (9) in test_import_crash.py.
"""

from __future__ import annotations

import re
import socket
from datetime import datetime
from zoneinfo import ZoneInfo

from archive_builder import cli
from test_archiving import BIZ, add_article, query, seed_file
from test_harvest import urls_source, write_config
from test_import_files import old_hugo_site

SLOW = """
[politeness]
requests_per_second = 0.2
concurrency = 1
jitter = 0
retries = 1
retry_backoff_seconds = 30
"""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_1_missing_images_are_counted_exit_1_and_a_host_that_is_down_is_given_up(
    archive, tmp_path, monkeypatch
):
    monkeypatch.setenv("HARVESTER_RELAY", f"mmbiz.qpic.cn=http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("HARVESTER_BACKOFF", "0.001")
    monkeypatch.setenv("HARVESTER_PROGRESS_SECONDS", "0.000001")
    folder = tmp_path / "seeds"
    folder.mkdir()
    for n in range(5):
        seed_file(folder, f"第{n}篇", f"DOWN{n}", (f"i{n}",))
    code, out, err = cli("import", str(folder), "--archive", str(archive))
    assert (code, out) == (
        1,
        "5 new, 0 updated, 0 unchanged, 0 deleted, 0 failed; images: 0 stored, 5 missing "
        f"(archive: {archive})\n",
    )
    assert err == "".join(f"import: {n} of 5 done\n" for n in range(1, 6))
    reasons = [e.split(": ", 1)[1] for (e,) in query(archive, "SELECT error FROM article_images")]
    assert (
        sorted(reasons)[-2:]
        == [
            "mmbiz.qpic.cn is down: 3 requests in a row could not connect; not tried again this run"
        ]
        * 2
    )


def test_2_a_seed_import_dates_its_articles_and_names_their_account(served, archive, tmp_path):
    seed = seed_file(tmp_path, "第一篇", "SEE201", ())
    code, _, _ = cli("import", str(seed), "--no-images", "--archive", str(archive))
    assert code == 0
    assert query(archive, "SELECT published_at, year, date_source FROM articles") == [
        ("2026-01-26T08:00:16+08:00", 2026, "seed")
    ]
    assert query(archive, "SELECT biz, nickname FROM accounts") == [(None, "神经科学")]
    add_article(served, 201, short_id="SEE201", images=())
    cli("fetch", "https://mp.weixin.qq.com/s/SEE201", "--refresh", "--archive", str(archive))
    assert query(archive, "SELECT published_at, date_source FROM articles") == [
        ("2026-01-01T08:00:00+08:00", "page")
    ]
    assert query(archive, "SELECT biz, nickname FROM accounts") == [(BIZ, "神经科学")]


def test_5_a_refresh_that_finds_the_article_deleted_rewrites_its_status_at_once(served, archive):
    url = add_article(served, 205, images=())
    cli("fetch", url, "--archive", str(archive))
    [(md_path,)] = query(archive, "SELECT md_path FROM articles")
    live = (archive / md_path).read_text(encoding="utf-8")
    served.fault("/s", "deleted")
    code, out, err = cli("fetch", url, "--refresh", "--archive", str(archive))
    assert (code, err) == (0, "")
    assert out == f"0 new, 0 updated, 0 unchanged, 1 deleted, 0 failed (archive: {archive})\n"
    assert (archive / md_path).read_text(encoding="utf-8") == live.replace(
        'status: "live"', 'status: "deleted"'
    )


def test_6_an_old_hugo_sites_ordinary_files_are_skipped_and_counted(archive, tmp_path):
    content = old_hugo_site(tmp_path / "site")
    seed_file(content / "posts", "第一篇", "SEE206", ())
    code, out, err = cli("import", str(content), "--no-images", "--archive", str(archive))
    assert (code, err) == (0, "")
    assert out == (
        "1 new, 0 updated, 0 unchanged, 0 deleted, 0 failed, 4 skipped: not articles "
        f"(archive: {archive})\n"
    )


def test_7_fetch_of_an_empty_standard_input_says_so_and_exits_2(archive):
    code, out, err = cli("fetch", "-", "--archive", str(archive), stdin="")
    assert (code, out) == (2, "")
    assert err == "harvester: no links given (standard input had none)\n"
    assert not archive.exists()


def test_10_harvester_rate_in_the_environment_wins_over_the_configs_politeness(
    served, archive, tmp_path, monkeypatch
):
    monkeypatch.setenv("HARVESTER_RATE", "1000")
    urls = [add_article(served, 210 + n, images=()) for n in range(3)]
    config = write_config(tmp_path, urls_source(tmp_path, urls), politeness=SLOW)
    code, out, err = cli("harvest", "--config", str(config))
    assert (code, out, err) == (0, "", "")
    assert query(archive, "SELECT count(*) FROM articles") == [(3,)]
    gaps = [b - a for a, b in zip(served.request_times, served.request_times[1:], strict=False)]
    assert max(gaps) < 4.0  # the config's 0.2 a second would space them 5 s apart


def test_11_a_backoff_says_until_when_in_local_time_with_its_offset(
    served, archive, tmp_path, monkeypatch
):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    urls = [add_article(served, 220 + n, images=()) for n in range(2)]
    served.fault(f"/s?__biz={BIZ}&mid=221", "verify")
    config = write_config(tmp_path, urls_source(tmp_path, urls))
    code, _, err = cli("harvest", "--config", str(config))
    [(until,)] = query(archive, "SELECT until FROM host_backoff")
    local = datetime.fromisoformat(until).astimezone(ZoneInfo("Asia/Shanghai"))
    assert code == 75
    assert err.splitlines()[0] == (
        f"harvester: {urls[1]}: WeChat served its verification page (too many requests); "
        "stopped asking mp.weixin.qq.com, backing off until "
        f"{local:%Y-%m-%d %H:%M} +08:00 (a run before then exits 75 at once)"
    )


def test_11_fetch_stopped_by_verification_says_when_to_retry_with_its_offset(
    served, archive, monkeypatch
):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    url = add_article(served, 230, images=())
    served.fault("/s", "verify")
    code, _, err = cli("fetch", url, "--archive", str(archive))
    assert code == 75
    assert re.fullmatch(
        f"harvester: {re.escape(url)}: WeChat served its verification page \\(too many "
        "requests\\); stopped. Try again after \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\+08:00\n",
        err,
    )


def test_11_a_seed_date_without_a_zone_is_china_time(archive, tmp_path):
    seed = seed_file(tmp_path, "无时区", "SEE211", ())
    seed.write_text(
        seed.read_text(encoding="utf-8").replace("2026-01-26T00:00:16Z", "2026-01-26T09:30:00"),
        encoding="utf-8",
    )
    code, _, _ = cli("import", str(seed), "--no-images", "--archive", str(archive))
    assert code == 0
    assert query(archive, "SELECT published_at FROM articles") == [("2026-01-26T09:30:00+08:00",)]
