"""Coverage you can see: `harvester accounts [--json]` and the Datasette view
`account_coverage`, after harvests of the simulated account (tests/fakeaccount.py)."""

from __future__ import annotations

import json
import time

import pytest
from fakeaccount import SimAccount
from fakewechat import FakeWeChat
from test_account import account_source, seed_of
from test_harvest import execute, harvest, query, write_config

from harvester.cli import main
from harvester.coverage import format_accounts

BIZ = "MzkxMTAwMDAwMQ=="


@pytest.fixture
def account(served: FakeWeChat) -> SimAccount:
    sim = SimAccount.generate(BIZ, sends=20, articles=40, albums=2, in_albums=30)
    sim.install(served)
    return sim


def accounts(capsys, archive, *args: str) -> tuple[int, str, str]:
    try:
        main(["accounts", "--archive", str(archive), *args])
        code = 0
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def dates(account: SimAccount) -> tuple[str, str]:
    from archive.times import iso_china
    from harvester.sources.base import unix_time

    times = sorted(a.ct for a in account.articles)
    return iso_china(unix_time(times[0])), iso_china(unix_time(times[-1]))


def test_a_probed_account_shows_as_whole(served, account, archive, tmp_path, capsys):
    harvest(capsys, write_config(tmp_path, account_source(account.link(seed_of(account)))))
    code, out, err = accounts(capsys, archive, "--json")
    assert (code, err) == (0, "")
    [row] = json.loads(out)
    oldest, newest = dates(account)
    worked = row.pop("channels_last_worked")
    assert row == {
        "biz": BIZ,
        "account": "模拟账号",
        "known": 40,
        "archived": 40,
        "missing": 0,
        "oldest": oldest,
        "newest": newest,
        "coverage": "whole account (probed)",
        "channels": "album, appmsgext, getainfo, seed",
        "albums": 2,
    }
    assert [part.split(" ")[0] for part in worked.split("; ")] == [
        "album",
        "appmsgext",
        "getainfo",
        "page",
    ]


def test_an_account_known_only_through_its_albums_says_so(
    served, account, archive, tmp_path, capsys
):
    account.getainfo_mode = "empty"
    harvest(capsys, write_config(tmp_path, account_source(account.link(seed_of(account)))))
    _, out, _ = accounts(capsys, archive, "--json")
    [row] = json.loads(out)
    assert row["coverage"] == "what the albums show"
    assert row["known"] == row["archived"] < len(account.articles)
    assert "getainfo never (failed " in row["channels_last_worked"]
    assert "getainfo answers empty lists" in row["channels_last_worked"]


def test_the_text_report_is_a_block_an_account(served, account, archive, tmp_path, capsys):
    harvest(capsys, write_config(tmp_path, account_source(account.link(seed_of(account)))))
    code, out, _ = accounts(capsys, archive)
    oldest, newest = dates(account)
    lines = out.splitlines()
    assert code == 0
    assert lines[:3] == [
        f"模拟账号 ({BIZ}): 40 known, 40 archived, 0 missing; {oldest[:10]} … {newest[:10]}",
        "  coverage: whole account (probed)",
        "  found by: album, appmsgext, getainfo, seed; albums: 2",
    ]
    assert lines[3].startswith("  last worked: album 20")
    assert len(lines) == 4


def test_the_datasette_view_holds_the_same_rows(served, account, archive, tmp_path, capsys):
    harvest(capsys, write_config(tmp_path, account_source(account.link(seed_of(account)))))
    _, out, _ = accounts(capsys, archive, "--json")
    view = query(archive, "SELECT * FROM account_coverage")
    assert [list(row) for row in view] == [list(row.values()) for row in json.loads(out)]


def test_missing_counts_what_is_known_but_not_archived(served, account, archive, tmp_path, capsys):
    served.fault("/s?", "500")  # every article page fails; the listings still count
    harvest(capsys, write_config(tmp_path, account_source(account.link(seed_of(account)))))
    _, out, _ = accounts(capsys, archive, "--json")
    [row] = json.loads(out)
    assert (row["known"], row["archived"], row["missing"]) == (40, 0, 40)
    assert row["account"] is None and row["oldest"] is None


def test_an_archive_never_harvested_lists_its_accounts_too(served, account, archive, capsys):
    with pytest.raises(SystemExit):
        main(["fetch", account.link(account.articles[0]), "--archive", str(archive)])
    capsys.readouterr()
    _, out, _ = accounts(capsys, archive, "--json")
    [row] = json.loads(out)
    assert (row["known"], row["archived"], row["coverage"]) == (1, 1, "what was linked or fetched")
    assert (row["channels"], row["albums"], row["channels_last_worked"]) == (None, 0, None)


def test_no_archive_is_a_usage_error(tmp_path, capsys):
    code, out, err = accounts(capsys, tmp_path / "none")
    assert (code, out) == (2, "")
    assert "no archive here" in err


def test_an_account_name_cannot_act_on_the_terminal(served, account, archive, capsys):
    with pytest.raises(SystemExit):
        main(["fetch", account.link(account.articles[0]), "--archive", str(archive)])
    capsys.readouterr()
    execute(archive, "UPDATE accounts SET nickname = 'evil\x1b]0;pwned\x07\x1b[31m'")
    _, out, _ = accounts(capsys, archive)
    assert "\x1b" not in out and "\x07" not in out
    assert "evil\\x1b]0;pwned\\x07\\x1b[31m" in out


def test_the_text_report_shows_when_each_channel_worked_in_local_time(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        row = {
            "account": "号", "biz": BIZ, "known": 1, "archived": 1, "missing": 0,
            "oldest": None, "newest": None, "coverage": "what was linked or fetched",
            "channels": "album", "albums": 1,
            "channels_last_worked": "album 2026-12-03T12:31:02Z; seed 2026-12-03T12:30:40+00:00",
        }  # fmt: skip
        assert format_accounts([row], as_json=False).splitlines()[-1] == (
            "  last worked: album 2026-12-03 20:31 +08:00; seed 2026-12-03 20:30 +08:00"
        )
    finally:
        monkeypatch.undo()
        time.tzset()
