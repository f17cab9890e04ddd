"""`kind = "account"`: an account's articles from one link, without a login, through
`harvester harvest` against the simulated account of tests/fakeaccount.py."""

from __future__ import annotations

from collections import Counter

import pytest
from fakeaccount import SimAccount, SimArticle
from fakewechat import FakeWeChat
from test_harvest import execute, harvest, query, write_config

from harvester.sources.discovery import album_ids_in_page, probe_form, probe_plan

BIZ = "MzkxMTAwMDAwMQ=="


@pytest.fixture
def account(served: FakeWeChat) -> SimAccount:
    sim = SimAccount.generate(BIZ, sends=30, articles=60, albums=3, in_albums=40)
    sim.install(served)
    return sim


def seed_of(account: SimAccount) -> SimArticle:
    """An article in the middle of the account's history, in an album."""
    middle = len(account.articles) // 2
    return next(a for a in account.articles[middle:] if a.albums)


def account_source(url: str, extra: str = "") -> str:
    return f'[[sources]]\nkind = "account"\nurl = "{url}"\n{extra}\n'


def listing_requests(fake: FakeWeChat) -> Counter[str]:
    paths = [p.split("?")[0] for p in fake.paths() if not p.startswith("/s")]
    return Counter(paths)


def archived(archive) -> set[str]:
    return {row[0] for row in query(archive, "SELECT key FROM articles")}


# --------------------------------------------------------------------------- pure parts


def test_a_page_names_its_albums_by_tag_link_and_script():
    page = (
        '<a href="https://mp.weixin.qq.com/mp/appmsgalbum?__biz=X&amp;action=getalbum&amp;'
        'album_id=3000000000000000000#wechat_redirect">#合集</a>'
        "<script>var x = { album_id: '3000000000000001111' };</script>"
        '<a href="/mp/appmsgalbum?album_id=3000000000000000000">again</a>'
    )
    assert album_ids_in_page(page) == ["3000000000000000000", "3000000000000001111"]


def test_the_probe_plan_asks_next_idx_holes_and_mids_within_the_gap():
    plan = probe_plan({(100, 1), (100, 3), (105, 1)}, set(), empty_gap=2)
    assert plan == [
        (107, 1),
        (106, 1),
        (105, 2),
        (104, 1),
        (103, 1),
        (102, 1),
        (101, 1),
        (100, 4),
        (100, 2),
        (99, 1),
        (98, 1),
    ]


def test_the_probe_plan_leaves_out_what_was_asked_and_on_a_quiet_night_looks_beyond():
    known = {(100, 1), (101, 1)}
    asked = {(102, 1), (100, 2)}
    assert probe_plan(known, asked, empty_gap=2) == [(103, 1), (101, 2), (99, 1), (98, 1)]
    assert probe_plan(known, asked, empty_gap=2, beyond=True) == [(103, 1), (101, 2)]
    assert probe_plan(set(), set(), empty_gap=2) == []


def test_a_probe_asks_about_links_without_sn():
    assert probe_form(BIZ, [(7, 2)]) == {
        "req": '{"url":["https://mp.weixin.qq.com/s?__biz=MzkxMTAwMDAwMQ==&mid=7&idx=2"]}'
    }


# --------------------------------------------------------------------------- harvesting


def test_one_link_finds_every_article_of_the_account(served, account, archive, tmp_path, capsys):
    config = write_config(tmp_path, account_source(account.link(seed_of(account))))
    code, out, err = harvest(capsys, config)
    assert (code, out, err) == (0, "", "")
    assert archived(archive) == account.article_keys()
    channels = dict(query(archive, "SELECT channel, count(*) FROM discovered GROUP BY channel"))
    assert set(channels) >= {"seed", "appmsgext", "album", "getainfo"}
    in_no_album = {f"{BIZ}:{a.mid}:{a.idx}" for a in account.articles if not a.albums}
    by_probe = {
        row[0] for row in query(archive, "SELECT key FROM discovered WHERE channel = 'getainfo'")
    }
    assert in_no_album <= by_probe
    albums = query(archive, "SELECT album_id FROM account_albums WHERE biz = ?", (BIZ,))
    assert {row[0] for row in albums} == set(account.albums)


def test_an_incremental_night_costs_a_handful_of_listing_requests(
    served, account, archive, tmp_path, capsys
):
    config = write_config(tmp_path, account_source(account.link(seed_of(account))))
    harvest(capsys, config)
    new = account.publish(3, album=next(iter(account.albums)))
    served.clear_requests()
    code, _, err = harvest(capsys, config)
    assert (code, err) == (0, "")
    assert {f"{BIZ}:{a.mid}:{a.idx}" for a in new} <= archived(archive)
    requests = listing_requests(served)
    assert sum(requests.values()) <= 10
    assert requests["/mp/getappmsgext"] == 0
    assert requests["/mp/appmsgalbum"] == len(account.albums)  # the first page of each


def test_a_verification_page_mid_chain_exits_75_and_the_chain_resumes_next_run(
    served, account, archive, tmp_path, capsys
):
    config = write_config(tmp_path, account_source(account.link(seed_of(account))))
    served.fault("/mp/getainfo", "verify", times=1)
    code, _, err = harvest(capsys, config)
    assert code == 75
    assert "verification page" in err
    assert archived(archive) == set()  # the run stopped before any article was fetched
    pending = query(archive, "SELECT count(*) FROM queue WHERE state = 'pending'")[0][0]
    found = query(archive, "SELECT count(DISTINCT key) FROM discovered")[0][0]
    assert pending == found > 1  # what was found before the verification page is kept
    execute(archive, "DELETE FROM host_backoff")
    code, _, err = harvest(capsys, config)
    assert (code, err) == (0, "")
    assert archived(archive) == account.article_keys()


def test_getainfo_answering_empty_lists_is_noticed_and_albums_still_count(
    served, account, archive, tmp_path, capsys
):
    account.getainfo_mode = "empty"
    config = write_config(tmp_path, account_source(account.link(seed_of(account))))
    code, _, err = harvest(capsys, config)
    assert code == 0
    assert f"account source 'account:{account.link(seed_of(account))}': getainfo answers " in err
    assert "empty lists; probing stopped" in err
    assert served.paths().count(f"/mp/getainfo?f=json&__biz={BIZ}") == 1
    state = query(
        archive, "SELECT last_worked, last_error FROM channel_state WHERE channel = 'getainfo'"
    )
    assert state[0][0] is None and "empty lists" in state[0][1]
    seed_album = seed_of(account).albums[0]
    assert {f"{BIZ}:{a.mid}:{a.idx}" for a in account.album_members(seed_album)} <= archived(
        archive
    )


def test_an_album_whose_listing_fails_is_walked_through_getappmsgext(
    served, account, archive, tmp_path, capsys
):
    account.getainfo_mode = "empty"
    album = next(iter(account.albums))
    members = account.album_members(album)[::-1]  # oldest first
    at = max(n for n, a in enumerate(members) if a.albums[0] == album)
    expected = []  # the previous links getappmsgext gives while it names this album
    for older in reversed(members[:at]):
        expected.append(f"{BIZ}:{older.mid}:{older.idx}")
        if older.albums[0] != album:
            break
    served.fault("/mp/appmsgalbum", "500")
    config = write_config(tmp_path, account_source(account.link(members[at])))
    code, _, err = harvest(capsys, config)
    assert code == 0
    assert f"walking album {album} through getappmsgext instead" in err
    walked = query(archive, "SELECT key FROM discovered WHERE channel = 'appmsgext'")
    assert set(expected) <= {row[0] for row in walked}
    assert set(expected) <= archived(archive)


def test_freq_control_on_getainfo_stops_the_run_with_75(served, account, archive, tmp_path, capsys):
    account.getainfo_mode = "freq"
    config = write_config(tmp_path, account_source(account.link(seed_of(account))))
    code, _, err = harvest(capsys, config)
    assert code == 75
    assert "freq control" in err
    assert query(archive, "SELECT host FROM host_backoff") == [("mp.weixin.qq.com",)]


def test_a_short_seed_link_is_fetched_once_for_its_account(
    served, account, archive, tmp_path, capsys
):
    seed = seed_of(account)
    config = write_config(tmp_path, account_source(f"https://mp.weixin.qq.com/s/{seed.short_id}"))
    code, _, err = harvest(capsys, config)
    assert (code, err) == (0, "")
    assert archived(archive) == account.article_keys()
    assert served.paths().count(f"/s/{seed.short_id}") == 1


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("", "'url' is missing (give one article link, or biz)"),
        ('url = "https://example.org/x"\n', "'url' is not usable: its host is example.org, not"),
        (f'biz = "{BIZ}"\nprobe_batch = 51\n', "'probe_batch' must be at most 50, not 51"),
        (f'biz = "{BIZ}"\nempty_gap = 0\n', "'empty_gap' must be at least 1, not 0"),
    ],
)
def test_a_bad_account_table_stops_the_run_before_any_request(
    served, archive, tmp_path, capsys, table, problem
):
    config = write_config(tmp_path, f'[[sources]]\nkind = "account"\n{table}')
    code, _, err = harvest(capsys, config)
    assert code == 2
    assert problem in err
    assert served.paths() == []


def test_a_biz_alone_starts_from_what_the_archive_holds_of_the_account(
    served, account, archive, tmp_path, capsys
):
    from test_harvest import urls_source

    sources = urls_source(tmp_path, [account.link(seed_of(account))])
    harvest(capsys, write_config(tmp_path, sources))
    sources += f'[[sources]]\nkind = "account"\nbiz = "{BIZ}"\n'
    code, _, err = harvest(capsys, write_config(tmp_path, sources))
    assert (code, err) == (0, "")
    assert archived(archive) == account.article_keys()
    assert served.paths().count(f"/mp/getappmsgext?__biz={BIZ}") == 0


def test_a_biz_the_archive_knows_nothing_of_is_a_warning(served, archive, tmp_path, capsys):
    config = write_config(tmp_path, f'[[sources]]\nkind = "account"\nbiz = "{BIZ}"\n')
    code, _, err = harvest(capsys, config)
    assert code == 0
    assert err == (
        f"harvester: warning: account source 'account:{BIZ}': nothing is known of account "
        f"{BIZ} yet; "
        "give one of its article links as url\n"
    )
    assert served.paths() == []


def test_freq_control_on_getappmsgext_stops_the_run_with_75(
    served, account, archive, tmp_path, capsys
):
    account.ext_mode = "freq"
    config = write_config(tmp_path, account_source(account.link(seed_of(account))))
    code, _, err = harvest(capsys, config)
    assert code == 75
    assert "freq control" in err
    assert listing_requests(served) == Counter({"/mp/getappmsgext": 1})


def test_a_verification_page_for_the_short_seed_link_exits_75(
    served, account, archive, tmp_path, capsys
):
    seed = seed_of(account)
    served.fault(f"/s/{seed.short_id}", "verify", times=1)
    config = write_config(tmp_path, account_source(f"https://mp.weixin.qq.com/s/{seed.short_id}"))
    code, _, err = harvest(capsys, config)
    assert code == 75
    assert "verification page" in err
    assert listing_requests(served) == Counter({"/mp/wappoc_appmsgcaptcha": 1})


def test_albums_named_by_pages_archived_before_are_paged_without_getappmsgext(
    served, account, archive, tmp_path, capsys
):
    from harvester.cli import main

    seed = seed_of(account)
    with pytest.raises(SystemExit):
        main(["fetch", account.link(seed), "--archive", str(archive)])
    capsys.readouterr()
    served.clear_requests()
    config = write_config(tmp_path, f'[[sources]]\nkind = "account"\nbiz = "{BIZ}"\n')
    code, _, err = harvest(capsys, config)
    assert (code, err) == (0, "")
    albums = query(archive, "SELECT album_id, found_by FROM account_albums ORDER BY rowid")
    assert albums[: len(seed.albums)] == [(album_id, "page") for album_id in seed.albums]
    assert listing_requests(served)["/mp/getappmsgext"] == 0
    assert archived(archive) == account.article_keys()
