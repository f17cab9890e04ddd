"""`harvester harvest` end to end, in process, through the fake WeChat on loopback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from archive_builder import harvester
from fakewechat import FakeWeChat, album_item, make_article_html

from archive.files import sweep_temp_files
from archive.index import open_index
from harvester.cli import main
from harvester.harvest_config import Politeness, load_config, politeness_from_env
from harvester.queue import HarvestQueue

EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "scripts" / "harvester.example.toml"

BIZ = "MzkxMTAwMDAwMQ=="
OTHER_BIZ = "MzIwNjU2ODk1MQ=="
SN = "0123456789abcdef0123456789abcdef"
CT = 1767225600  # 2026-01-01 08:00 China time
ALBUM_ID = "4242"
ALBUM_URL = (
    f"https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&action=getalbum&album_id={ALBUM_ID}"
)
FAST = """
[politeness]
requests_per_second = 1000
concurrency = 2
jitter = 0
retries = 1
retry_backoff_seconds = 0.001
timeout_seconds = 5
"""


def image_url(name: str) -> str:
    return f"https://mmbiz.qpic.cn/mmbiz_png/{name}/640?wx_fmt=png&from=appmsg"


def link_html(url: str, text: str = "链接") -> str:
    return f'<p><a href="{url}">{text}</a></p>'


def add_article(
    fake: FakeWeChat,
    mid: int,
    *,
    biz: str = BIZ,
    title: str | None = None,
    body: str = "<p>正文。</p>",
    images: tuple[str, ...] = (),
    ct: int = CT,
    short_id: str | None = None,
) -> str:
    urls = [image_url(name) for name in images]
    for url in urls:
        fake.add_image(url)
    page = make_article_html(title or f"文章{mid}", "神经科学", biz, mid, 1, SN, ct, body, urls)
    return fake.add_article(biz, mid, 1, SN, page, short_id=short_id)


def seed_file(folder: Path, title: str, short_id: str, images: tuple[str, ...] = ()) -> Path:
    imgs = "".join(f'<p><img data-src="{image_url(i)}" src="{image_url(i)}"></p>' for i in images)
    text = (
        f'---\ntitle: "{title}"\ndate: 2026-01-26T00:00:16Z\ndraft: ["false"]\n'
        f'tags: [\n  "fetched",\n  "神经科学"\n]\ncategories: ["Acdemic"]\n---\n'
        f"{title} by 神经科学\n------\n"
        f"<div><p><span leaf>{title}的正文。</span></p>{imgs}</div>  \n"
        f'<hr>\n<a href="https://mp.weixin.qq.com/s/{short_id}",target="_blank" '
        f'rel="noopener noreferrer">原文链接</a>\n'
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{short_id}.md"
    path.write_text(text, encoding="utf-8")
    return path


def write_config(folder: Path, sources: str, *, top: str = "", politeness: str = FAST) -> Path:
    path = folder / "harvester.toml"
    path.write_text(f'archive = "archive"\n{top}\n{politeness}\n{sources}', encoding="utf-8")
    return path


def urls_source(folder: Path, urls: list[str], *, extra: str = "") -> str:
    (folder / "links.txt").write_text("".join(f"{url}\n" for url in urls), encoding="utf-8")
    return f'[[sources]]\nkind = "urls"\npath = "links.txt"\n{extra}\n'


def harvest(capsys: pytest.CaptureFixture, config: Path, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["harvest", "--config", str(config), *args])
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def query(archive: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(archive / "archive.db") as db:
        return db.execute(sql, params).fetchall()


def execute(archive: Path, sql: str, params: tuple = ()) -> None:
    db = sqlite3.connect(archive / "archive.db")
    with db:
        db.execute(sql, params)
    db.close()


def article_paths(fake: FakeWeChat) -> list[str]:
    return [path for path in fake.paths() if path.startswith("/s")]


def mids(archive: Path) -> list[str]:
    return [row[0] for row in query(archive, "SELECT mid FROM articles ORDER BY mid")]


@pytest.fixture
def served(fake_wechat: FakeWeChat, relay_env: str) -> FakeWeChat:
    return fake_wechat


def three_kinds(served: FakeWeChat, tmp_path: Path) -> Path:
    """A config with a urls file (2 articles), an album (3) and a seed folder (2 files)."""
    urls = [add_article(served, 1000 + n, images=(f"u{n}", "shared")) for n in range(2)]
    items = []
    for n in range(3):
        add_article(served, 2000 + n, images=(f"a{n}",))
        items.append(album_item(f"文章{2000 + n}", BIZ, 2000 + n, 1, SN, CT + n))
    served.add_album(BIZ, ALBUM_ID, items)
    served.add_image(image_url("s1"))
    seed_file(tmp_path / "seeds", "种子一", "Seed1", ("s1",))
    seed_file(tmp_path / "seeds", "种子二", "Seed2")
    sources = urls_source(tmp_path, urls) + (
        f'[[sources]]\nkind = "album"\nurl = "{ALBUM_URL}"\n\n'
        '[[sources]]\nkind = "seed"\npath = "seeds"\n'
    )
    return write_config(tmp_path, sources)


# --------------------------------------------------------------------------- harvesting


def test_harvest_archives_urls_album_and_seed_sources_quietly(served, archive, tmp_path, capsys):
    config = three_kinds(served, tmp_path)
    code, out, err = harvest(capsys, config)
    assert (code, out, err) == (0, "", "")
    assert query(archive, "SELECT key FROM articles ORDER BY key") == [
        (f"{BIZ}:1000:1",),
        (f"{BIZ}:1001:1",),
        (f"{BIZ}:2000:1",),
        (f"{BIZ}:2001:1",),
        (f"{BIZ}:2002:1",),
        ("s:Seed1",),
        ("s:Seed2",),
    ]
    assert query(archive, "SELECT count(*) FROM images") == [(7,)]
    assert query(archive, "SELECT DISTINCT status FROM article_images") == [("ok",)]
    assert query(archive, "SELECT state, count(*) FROM queue GROUP BY state") == [("done", 7)]


def test_seed_files_are_imported_without_fetching_their_pages(served, archive, tmp_path, capsys):
    served.add_image(image_url("s1"))
    seed_file(tmp_path / "seeds", "种子一", "Seed1", ("s1",))
    config = write_config(tmp_path, '[[sources]]\nkind = "seed"\npath = "seeds"\n')
    code, _, _ = harvest(capsys, config)
    assert code == 0
    assert served.paths() == ["/mmbiz_png/s1/640?wx_fmt=png&from=appmsg"]


def test_second_harvest_with_nothing_new_requests_only_the_listings(
    served, archive, tmp_path, capsys
):
    config = three_kinds(served, tmp_path)
    harvest(capsys, config)
    served.clear_requests()
    code, out, err = harvest(capsys, config, "--json")
    assert (code, err) == (0, "")
    assert served.paths() == [
        f"/mp/appmsgalbum?action=getalbum&__biz={BIZ}&album_id={ALBUM_ID}&count=20&f=json"
    ]
    counts = json.loads(out)["counts"]
    assert (counts["skipped"], counts["enqueued"], counts["new"]) == (7, 0, 0)


def test_only_new_listings_are_fetched(served, archive, tmp_path, capsys):
    first = add_article(served, 1100)
    config = write_config(tmp_path, urls_source(tmp_path, [first]))
    harvest(capsys, config)
    second = add_article(served, 1101)
    urls_source(tmp_path, [first, second])
    served.clear_requests()
    code, _, _ = harvest(capsys, config)
    assert code == 0
    assert article_paths(served) == [f"/s?__biz={BIZ}&mid=1101&idx=1&sn={SN}"]
    assert mids(archive) == ["1100", "1101"]


def test_pending_items_left_by_an_interrupted_run_are_taken_first(
    served, archive, tmp_path, capsys
):
    old = add_article(served, 1200)
    config = write_config(tmp_path, urls_source(tmp_path, [old]))
    harvest(capsys, config)
    leftover = add_article(served, 1201)
    execute(
        archive,
        "INSERT INTO queue (key, url, source, enqueued_at, state, seq) "
        "VALUES (?, ?, 'urls:links.txt', '2026-01-01T00:00:00+00:00', 'pending', 0)",
        (f"{BIZ}:1201:1", leftover),
    )
    new = add_article(served, 1202)
    urls_source(tmp_path, [old, new])
    served.clear_requests()
    code, _, _ = harvest(capsys, config)
    assert code == 0
    assert article_paths(served) == [
        f"/s?__biz={BIZ}&mid=1201&idx=1&sn={SN}",
        f"/s?__biz={BIZ}&mid=1202&idx=1&sn={SN}",
    ]


def test_run_is_recorded_with_its_counts(served, archive, tmp_path, capsys):
    config = three_kinds(served, tmp_path)
    harvest(capsys, config)
    [(command, outcome, counts, finished)] = query(
        archive, "SELECT command, outcome, counts, finished_at FROM runs"
    )
    assert (command, outcome, finished is not None) == ("harvest", "ok", True)
    assert json.loads(counts) == {
        "new": 7,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "failed": 0,
        "skipped": 0,
        "enqueued": 7,
        "images_stored": 8,
    }


def test_json_summary_has_the_documented_shape(served, archive, tmp_path, capsys):
    config = three_kinds(served, tmp_path)
    code, out, _ = harvest(capsys, config, "--json")
    summary = json.loads(out)
    assert code == 0
    assert sorted(summary) == [
        "archive",
        "backoff_until",
        "counts",
        "exit_code",
        "failures",
        "finished_at",
        "images",
        "message",
        "outcome",
        "pending",
        "run_id",
        "started_at",
        "warnings",
    ]
    assert summary["counts"] == {
        "new": 7,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "failed": 0,
        "skipped": 0,
        "enqueued": 7,
    }
    assert summary["images"] == {"stored": 8, "missing": 0}
    assert (summary["outcome"], summary["exit_code"], summary["run_id"]) == ("ok", 0, 1)
    assert (summary["pending"], summary["failures"], summary["backoff_until"]) == (0, [], None)
    assert summary["archive"] == str(archive)


# --------------------------------------------------------------------------- failures


def test_failed_article_is_named_exit_1_and_the_rest_archived(served, archive, tmp_path, capsys):
    good = add_article(served, 1300)
    missing = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=1399&idx=1&sn={SN}"
    config = write_config(tmp_path, urls_source(tmp_path, [missing, good]))
    code, out, err = harvest(capsys, config)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == f"harvester: {missing}: HTTP 404"
    assert lines[1].startswith("harvester: harvest partial: 1 new, 0 updated, 0 unchanged")
    assert len(lines) == 2
    assert mids(archive) == ["1300"]


def test_failed_article_is_tried_again_by_the_next_runs_up_to_three_times(
    served, archive, tmp_path, capsys
):
    missing = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=1399&idx=1&sn={SN}"
    config = write_config(tmp_path, urls_source(tmp_path, [missing]))
    codes = [harvest(capsys, config)[0] for _ in range(4)]
    assert codes == [1, 1, 1, 0]
    assert len(article_paths(served)) == 3
    assert query(archive, "SELECT state, attempts FROM queue") == [("failed", 3)]


def test_failed_source_is_named_and_the_other_sources_still_run(served, archive, tmp_path, capsys):
    good = add_article(served, 1310)
    sources = urls_source(tmp_path, [good]) + f'[[sources]]\nkind = "album"\nurl = "{ALBUM_URL}"\n'
    config = write_config(tmp_path, sources)
    code, _, err = harvest(capsys, config)
    assert code == 1
    assert err.splitlines()[0] == (
        f"harvester: album album:{ALBUM_ID}: WeChat refused the album list "
        "(base_resp.ret -2 invalid args); check the album link"
    )
    assert mids(archive) == ["1310"]


# --------------------------------------------------------------------------- politeness


def verification_setup(served: FakeWeChat, tmp_path: Path) -> Path:
    urls = [add_article(served, 1400 + n) for n in range(4)]
    served.fault(f"/s?__biz={BIZ}&mid=1402", "verify")
    return write_config(tmp_path, urls_source(tmp_path, urls))


def test_verification_page_stops_the_run_within_one_request_with_exit_75(
    served, archive, tmp_path, capsys
):
    config = verification_setup(served, tmp_path)
    code, out, err = harvest(capsys, config)
    assert (code, out) == (75, "")
    paths = served.paths()
    verify_at = paths.index(f"/s?__biz={BIZ}&mid=1402&idx=1&sn={SN}")
    assert paths[verify_at + 1].startswith("/mp/wappoc_appmsgcaptcha")
    assert paths[verify_at + 2 :] == []
    assert "verification page" in err.splitlines()[0]
    assert "backing off until" in err.splitlines()[0]
    assert err.splitlines()[1].startswith("harvester: harvest try-later: 2 new")


def test_verification_page_archives_nothing_from_that_page(served, archive, tmp_path, capsys):
    config = verification_setup(served, tmp_path)
    harvest(capsys, config)
    assert mids(archive) == ["1400", "1401"]
    assert query(archive, "SELECT key, state FROM queue WHERE key LIKE '%:1402:1'") == [
        (f"{BIZ}:1402:1", "pending")
    ]
    [(outcome, message)] = query(archive, "SELECT outcome, message FROM runs")
    assert outcome == "try-later"
    assert "verification page" in message


def test_verification_page_records_a_host_backoff_of_backoff_hours(
    served, archive, tmp_path, capsys
):
    config = verification_setup(served, tmp_path)
    before = datetime.now(UTC)
    harvest(capsys, config)
    [(host, until, level)] = query(archive, "SELECT host, until, level FROM host_backoff")
    assert (host, level) == ("mp.weixin.qq.com", 0)
    wait = datetime.fromisoformat(until) - before
    assert timedelta(hours=6) - timedelta(seconds=5) <= wait <= timedelta(hours=6, seconds=5)


def test_run_during_backoff_exits_75_at_once_without_any_request(served, archive, tmp_path, capsys):
    config = verification_setup(served, tmp_path)
    harvest(capsys, config)
    served.clear_faults()
    served.clear_requests()
    code, out, err = harvest(capsys, config, "--json")
    assert code == 75
    assert served.requests == []
    assert err.startswith("harvester: backing off mp.weixin.qq.com until ")
    assert json.loads(out)["outcome"] == "try-later"
    assert mids(archive) == ["1400", "1401"]


def test_run_after_the_backoff_proceeds_and_resets_it(served, archive, tmp_path, capsys):
    config = verification_setup(served, tmp_path)
    harvest(capsys, config)
    served.clear_faults()
    execute(archive, "UPDATE host_backoff SET until = '2000-01-01T00:00:00+00:00'")
    code, _, err = harvest(capsys, config)
    assert (code, err) == (0, "")
    assert mids(archive) == ["1400", "1401", "1402", "1403"]
    assert query(archive, "SELECT count(*) FROM host_backoff") == [(0,)]


def test_consecutive_verification_pages_double_the_backoff(served, archive, tmp_path, capsys):
    config = verification_setup(served, tmp_path)
    harvest(capsys, config)
    execute(archive, "UPDATE host_backoff SET until = '2000-01-01T00:00:00+00:00'")
    before = datetime.now(UTC)
    code, _, _ = harvest(capsys, config)
    assert code == 75
    [(until, level)] = query(archive, "SELECT until, level FROM host_backoff")
    wait = datetime.fromisoformat(until) - before
    assert level == 1
    assert timedelta(hours=12) - timedelta(seconds=5) <= wait <= timedelta(hours=12, seconds=5)


def test_backoff_never_exceeds_48_hours(served, archive, tmp_path, capsys):
    config = verification_setup(served, tmp_path)
    harvest(capsys, config)
    execute(archive, "UPDATE host_backoff SET until = '2000-01-01T00:00:00+00:00', level = 7")
    before = datetime.now(UTC)
    harvest(capsys, config)
    [(until,)] = query(archive, "SELECT until FROM host_backoff")
    assert datetime.fromisoformat(until) - before <= timedelta(hours=48, seconds=5)


def test_album_freq_control_backs_off_before_any_article_request(served, archive, tmp_path, capsys):
    first = add_article(served, 1500)
    served.add_route(
        "/mp/appmsgalbum",
        json.dumps({"base_resp": {"ret": 200013, "errmsg": "freq control"}}),
        "application/json",
    )
    sources = f'[[sources]]\nkind = "album"\nurl = "{ALBUM_URL}"\n\n' + urls_source(
        tmp_path, [first]
    )
    config = write_config(tmp_path, sources)
    code, _, err = harvest(capsys, config)
    assert code == 75
    assert "freq control" in err
    assert article_paths(served) == []
    assert query(archive, "SELECT host FROM host_backoff") == [("mp.weixin.qq.com",)]


def test_image_host_429_with_a_long_retry_after_backs_that_host_off(
    served, archive, tmp_path, capsys
):
    url = add_article(served, 1510, images=("limited",))
    served.fault("/mmbiz_png/limited", "429", retry_after="86400")
    config = write_config(tmp_path, urls_source(tmp_path, [url]))
    before = datetime.now(UTC)
    code, _, err = harvest(capsys, config)
    assert code == 75
    assert "rate limited (HTTP 429), retry after 86400 s" in err
    [(host, until)] = query(archive, "SELECT host, until FROM host_backoff")
    assert host == "mmbiz.qpic.cn"
    assert datetime.fromisoformat(until) - before >= timedelta(hours=24)
    assert mids(archive) == []


def test_rate_limited_feed_host_skips_that_source_and_the_others_still_run(
    served, archive, tmp_path, capsys
):
    url = add_article(served, 1520)
    served.fault("/feed.xml", "429", retry_after="3600")
    feed = f'[[sources]]\nkind = "feed"\nurl = "{served.base_url}/feed.xml"\n'
    config = write_config(tmp_path, feed + urls_source(tmp_path, [url]))
    code, _, err = harvest(capsys, config)
    assert code == 75
    assert mids(archive) == ["1520"]
    assert query(archive, "SELECT host FROM host_backoff") == [("127.0.0.1",)]
    served.clear_requests()
    code, _, err = harvest(capsys, config)
    assert code == 75
    assert "skipped, backing off 127.0.0.1 until" in err
    assert served.requests == []


def feed_xml(links: list[str]) -> str:
    items = "".join(
        f"<item><title>第{n}条</title><link>{link.replace('&', '&amp;')}</link></item>"
        for n, link in enumerate(links, start=1)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )


def test_the_feed_host_is_allowed_for_the_feed_only_not_for_its_articles_images_or_redirects(
    served, archive, tmp_path, capsys
):
    with FakeWeChat() as feed_host:  # 127.0.0.1 too, on its own port: no relay's base
        image = f"{feed_host.base_url}/mmbiz_png/onfeedhost/640?wx_fmt=png"
        feed_host.add_image(image, host=None)
        page = make_article_html("图在订阅源主机上", "神经科学", BIZ, 1700, 1, SN, CT, "", [image])
        with_image = served.add_article(BIZ, 1700, 1, SN, page)
        moved = add_article(feed_host, 1701).replace("https://mp.weixin.qq.com", feed_host.base_url)
        served.fault("https://mp.weixin.qq.com/s/FeedHostHop", "redirect", location=moved)
        items = [with_image, "https://mp.weixin.qq.com/s/FeedHostHop"]
        feed_host.add_route("/feed.xml", feed_xml(items), "application/rss+xml")
        feed = f'[[sources]]\nkind = "feed"\nurl = "{feed_host.base_url}/feed.xml"\n'
        code, out, err = harvest(capsys, write_config(tmp_path, feed))
        asked = [request.path for request in feed_host.requests]
    assert asked == ["/feed.xml"]
    assert (code, out) == (1, "")
    assert mids(archive) == ["1700"]
    refused = f"{image}: host '127.0.0.1' is not an allowed WeChat host"
    assert query(archive, "SELECT url, error FROM article_images") == [(image, refused)]
    assert err == (
        "harvester: https://mp.weixin.qq.com/s/FeedHostHop: redirected to "
        f"{moved}, refused: host '127.0.0.1' is not an allowed WeChat host\n"
        "harvester: harvest partial: 1 new, 0 updated, 0 unchanged, 0 deleted, 1 failed, "
        "2 enqueued, 0 skipped; images: 0 stored, 1 missing "
        f"(run 1, archive {archive})\n"
    )


# --------------------------------------------------------------------------- lock and runs


def test_lock_held_by_a_live_process_exits_75_naming_its_pid(served, archive, tmp_path, capsys):
    config = write_config(tmp_path, urls_source(tmp_path, [add_article(served, 1600)]))
    archive.mkdir()
    lock = archive / "harvest.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "os.write(fd, str(os.getpid()).encode())\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        code, out, err = harvest(capsys, config)
    finally:
        holder.kill()
        holder.wait()
    assert (code, out) == (75, "")
    assert err == (
        f"harvester: another harvest is running (pid {holder.pid}, lock {lock}); try later\n"
    )
    assert served.requests == []


def test_stale_lock_from_a_killed_run_is_taken_over(served, archive, tmp_path, capsys):
    config = write_config(tmp_path, urls_source(tmp_path, [add_article(served, 1610)]))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    archive.mkdir()
    (archive / "harvest.lock").write_text(dead.stdout)
    code, _, err = harvest(capsys, config)
    assert (code, err) == (0, "")
    assert mids(archive) == ["1610"]
    assert (archive / "harvest.lock").read_text() == ""


def test_a_harvest_lock_that_is_a_symbolic_link_is_refused_and_its_target_kept(
    served, archive, tmp_path
):
    config = write_config(tmp_path, urls_source(tmp_path, [add_article(served, 1615)]))
    archive.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    lock = archive / "harvest.lock"
    lock.symlink_to(target)
    result = harvester("harvest", "--config", str(config), "--archive", str(archive))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"harvester: {lock} is a symbolic link; refusing to use it as the harvest lock "
        "(remove it)\n"
    )
    assert target.read_text() == "keep me\n"
    assert served.requests == []


def test_a_harvest_lock_with_another_hard_link_is_refused_and_left_as_it_is(
    served, archive, tmp_path, capsys
):
    config = write_config(tmp_path, urls_source(tmp_path, [add_article(served, 1616)]))
    archive.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    lock = archive / "harvest.lock"
    os.link(target, lock)
    code, out, err = harvest(capsys, config, "--json")
    assert code == 2
    assert json.loads(out)["outcome"] == "bad-lock"
    assert err == (
        f"harvester: {lock} has other hard links; refusing to use it as the harvest lock "
        "(remove it)\n"
    )
    assert target.read_text() == "keep me\n"


def test_runs_left_running_by_a_killed_harvest_are_marked_interrupted(
    served, archive, tmp_path, capsys
):
    config = write_config(tmp_path, urls_source(tmp_path, [add_article(served, 1620)]))
    harvest(capsys, config)
    execute(
        archive,
        "INSERT INTO runs (started_at, command, outcome, pid) "
        "VALUES ('2026-01-01T00:00:00+00:00', 'harvest', 'running', 999999)",
    )
    harvest(capsys, config)
    assert query(archive, "SELECT id, outcome FROM runs ORDER BY id") == [
        (1, "ok"),
        (2, "interrupted"),
        (3, "ok"),
    ]


def test_old_temporary_files_of_killed_writes_are_swept(tmp_path):
    folder = tmp_path / "articles" / "acct" / "2026"
    folder.mkdir(parents=True)
    old, fresh = folder / ".tmp-old.part", folder / ".tmp-new.part"
    old.write_bytes(b"half")
    fresh.write_bytes(b"half")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert sweep_temp_files(tmp_path) == 1
    assert (old.exists(), fresh.exists()) == (False, True)


# --------------------------------------------------------------------------- bad configs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'archive = "archive"\n[politeness]\nrequests_per_second = = 2\n',
            "harvester.toml:3:23: not valid TOML: Invalid value",
        ),
        (
            'archive = "archive"\narchve = "x"\n[[sources]]\nkind = "urls"\npath = "links.txt"\n',
            "harvester.toml:2: unknown key 'archve' (known keys: archive, politeness, "
            "refresh_days, sources)",
        ),
        (
            "[politeness]\nrequests_per_second = 1\nconcurency = 2\n"
            '[[sources]]\nkind = "urls"\npath = "links.txt"\n',
            "harvester.toml:3: [politeness] unknown key 'concurency'",
        ),
        (
            '[politeness]\nconcurrency = 0\n[[sources]]\nkind = "urls"\npath = "links.txt"\n',
            "harvester.toml:2: [politeness] 'concurrency' must be a whole number of at least 1, "
            "not 0",
        ),
        (
            '[[sources]]\nkind = "urls"\npath = "links.txt"\n\n[[sources]]\nkind = "rss"\n'
            'url = "https://example.org/feed.xml"\n',
            "harvester.toml:6: sources[2]: 'kind' is 'rss', not a known source kind "
            "(known kinds: account, album, feed, mp, seed, urls, weread)",
        ),
        (
            '[[sources]]\nkind = "urls"\npath = "missing.txt"\n',
            "harvester.toml:3: sources[1] (kind \"urls\"): 'path' names ",
        ),
        (
            '[[sources]]\nkind = "urls"\npath = "links.txt"\n[[sources]]\nkind = "album"\n',
            "harvester.toml:4: sources[2] (kind \"album\"): 'url' is missing",
        ),
        (
            '[[sources]]\nkind = "urls"\npath = "links.txt"\nfollow_link = true\n',
            "harvester.toml:4: sources[1] (kind \"urls\"): unknown key 'follow_link'",
        ),
        (
            f'[[sources]]\nkind = "mp"\nfakeid = "{BIZ}"\nauth = "mp-auth.json"\n',
            "harvester.toml:4: sources[1] (kind \"mp\"): 'auth' names ",
        ),
        ('archive = "archive"\n', "harvester.toml: no [[sources]]: nothing to harvest"),
    ],
)
def test_bad_config_is_one_line_naming_line_and_key_and_nothing_is_fetched(
    served, tmp_path, capsys, monkeypatch, text, expected
):
    (tmp_path / "links.txt").write_text(add_article(served, 1700) + "\n")
    auth = tmp_path / "mp-auth.json"
    auth.write_text('{"cookie": "c", "token": "t"}')
    auth.chmod(0o644)
    config = tmp_path / "harvester.toml"
    config.write_text(text)
    monkeypatch.chdir(tmp_path)
    code, out, err = harvest(capsys, Path("harvester.toml"))
    assert (code, out) == (2, "")
    assert err.startswith(f"harvester: {expected}")
    assert err.count("\n") == 1
    assert served.requests == []
    assert not (tmp_path / "archive").exists()


def test_mp_auth_file_readable_by_others_is_refused_naming_the_mode(served, tmp_path, capsys):
    auth = tmp_path / "mp-auth.json"
    auth.write_text('{"cookie": "c", "token": "t"}')
    auth.chmod(0o644)
    config = write_config(
        tmp_path, f'[[sources]]\nkind = "mp"\nfakeid = "{BIZ}"\nauth = "mp-auth.json"\n'
    )
    code, _, err = harvest(capsys, config)
    assert code == 2
    assert "(mode 0644)" in err and "chmod 600" in err


def test_missing_config_file_is_a_usage_error(served, tmp_path, capsys):
    code, _, err = harvest(capsys, tmp_path / "nope.toml")
    assert code == 2
    assert err == (
        f"harvester: {tmp_path / 'nope.toml'}: no such config file "
        "(start from scripts/harvester.example.toml)\n"
    )


def test_bad_config_with_json_prints_a_json_outcome(served, tmp_path, capsys):
    config = tmp_path / "harvester.toml"
    config.write_text("[[sources]\n")
    code, out, _ = harvest(capsys, config, "--json")
    assert code == 2
    assert json.loads(out)["outcome"] == "bad-config"


def test_example_config_is_valid_and_documents_the_defaults(tmp_path):
    config_path = tmp_path / "harvester.toml"
    config_path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "links.txt").write_text("")
    config = load_config(config_path)
    assert config.politeness == Politeness()
    assert [spec.kind for spec in config.sources] == ["urls", "album", "account"]
    assert (config.archive, config.refresh_days) == (tmp_path / "wechat-archive", 7)


def test_rate_and_backoff_from_the_environment_win_over_the_config():
    configured = Politeness(requests_per_second=0.2, retry_backoff_seconds=5)
    environ = {"HARVESTER_RATE": "1000", "HARVESTER_BACKOFF": "0.01"}
    assert politeness_from_env(configured, environ) == Politeness(
        requests_per_second=1000, image_requests_per_second=1000, retry_backoff_seconds=0.01
    )
    assert politeness_from_env(configured, {}) == configured


def test_a_slow_rate_from_the_environment_never_slows_the_image_hosts():
    slow = politeness_from_env(Politeness(), {"HARVESTER_RATE": "0.1"})
    assert (slow.requests_per_second, slow.image_requests_per_second) == (0.1, 8.0)


@pytest.mark.parametrize("value", ["fast", "0", "-1", "nan", "inf"])
def test_a_bad_rate_in_the_environment_is_a_bad_config(
    served, tmp_path, capsys, monkeypatch, value
):
    monkeypatch.setenv("HARVESTER_RATE", value)
    config = write_config(tmp_path, urls_source(tmp_path, []))
    code, out, err = harvest(capsys, config)
    assert (code, out) == (2, "")
    assert err.startswith(f"harvester: HARVESTER_RATE={value!r}: ")
    assert err.count("\n") == 1


def test_archive_option_overrides_the_configs_archive(served, tmp_path, capsys):
    config = write_config(tmp_path, urls_source(tmp_path, [add_article(served, 1710)]))
    code, _, _ = harvest(capsys, config, "--archive", str(tmp_path / "elsewhere"))
    assert code == 0
    assert mids(tmp_path / "elsewhere") == ["1710"]
    assert not (tmp_path / "archive").exists()


# --------------------------------------------------------------------------- follow links


def test_follow_links_queues_linked_articles_of_the_same_account_only(
    served, archive, tmp_path, capsys
):
    same = add_article(served, 1801, body=link_html(add_article(served, 1802)))
    other = add_article(served, 1803, biz=OTHER_BIZ)
    add_article(served, 1804, short_id="SameShort")
    add_article(served, 1805, biz=OTHER_BIZ, short_id="OtherShort")
    body = (
        link_html(same)
        + link_html(other)
        + link_html("https://mp.weixin.qq.com/s/SameShort")
        + link_html("https://mp.weixin.qq.com/s/OtherShort")
    )
    start = add_article(served, 1800, body=body)
    config = write_config(tmp_path, urls_source(tmp_path, [start], extra="follow_links = true"))
    code, _, err = harvest(capsys, config)
    assert (code, err) == (0, "")
    assert query(archive, "SELECT biz, mid FROM articles ORDER BY mid") == [
        (BIZ, "1800"),
        (BIZ, "1801"),
        (BIZ, "1804"),
    ]
    requested = article_paths(served)
    assert not any("mid=1802" in path for path in requested)  # depth 1
    assert not any("mid=1803" in path for path in requested)  # another account, by its link
    assert "/s/OtherShort" in requested  # a short link's account shows only once fetched


def test_without_follow_links_linked_articles_are_not_fetched(served, archive, tmp_path, capsys):
    start = add_article(served, 1810, body=link_html(add_article(served, 1811)))
    config = write_config(tmp_path, urls_source(tmp_path, [start]))
    harvest(capsys, config)
    assert mids(archive) == ["1810"]


# --------------------------------------------------------------------------- refresh


def recent_ct(days_ago: float) -> int:
    return int((datetime.now(UTC) - timedelta(days=days_ago)).timestamp())


def test_refresh_days_rechecks_recent_articles_and_detects_a_deletion(
    served, archive, tmp_path, capsys
):
    recent = add_article(served, 1900, ct=recent_ct(2))
    old = add_article(served, 1901, ct=recent_ct(30))
    config = write_config(tmp_path, urls_source(tmp_path, [recent, old]), top="refresh_days = 7")
    harvest(capsys, config)
    execute(archive, "UPDATE articles SET last_checked_at = '2000-01-01T00:00:00+00:00'")
    served.fault("/s", "deleted")
    served.clear_requests()
    code, out, _ = harvest(capsys, config, "--json")
    assert code == 0
    assert article_paths(served) == [f"/s?__biz={BIZ}&mid=1900&idx=1&sn={SN}"]
    assert json.loads(out)["counts"]["deleted"] == 1
    assert query(archive, "SELECT mid, status FROM articles ORDER BY mid") == [
        ("1900", "deleted"),
        ("1901", "live"),
    ]


def test_refresh_leaves_articles_checked_within_the_day_alone(served, archive, tmp_path, capsys):
    recent = add_article(served, 1910, ct=recent_ct(1))
    config = write_config(tmp_path, urls_source(tmp_path, [recent]), top="refresh_days = 7")
    harvest(capsys, config)
    served.clear_requests()
    code, _, _ = harvest(capsys, config)
    assert (code, article_paths(served)) == (0, [])


def test_refresh_finds_an_edit(served, archive, tmp_path, capsys):
    recent = add_article(served, 1920, ct=recent_ct(1))
    sources = urls_source(tmp_path, [recent], extra="refresh_days = 3")
    config = write_config(tmp_path, sources)
    harvest(capsys, config)
    add_article(served, 1920, ct=recent_ct(1), body="<p>改过的正文。</p>")
    execute(archive, "UPDATE articles SET last_checked_at = '2000-01-01T00:00:00+00:00'")
    code, out, _ = harvest(capsys, config, "--json")
    assert (code, json.loads(out)["counts"]["updated"]) == (0, 1)
    assert "改过的正文" in query(archive, "SELECT body_text FROM articles")[0][0]


def test_the_queue_tables_are_made_by_the_queue_when_first_used(tmp_path):
    db = open_index(tmp_path / "archive.db")
    assert not {"queue", "host_backoff"} & set(db.table_names())
    HarvestQueue(db)
    HarvestQueue(db)
    assert {"queue", "host_backoff"} <= set(db.table_names())
    db.close()
