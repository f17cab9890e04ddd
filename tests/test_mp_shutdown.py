"""`kind = "mp"` after the July 2026 shutdown: a freq control for good is said plainly once,
points to `account` / `weread`, backs no host off, and is not asked again for a week."""

from __future__ import annotations

import json
from pathlib import Path

from fakewechat import FakeWeChat
from test_harvest import add_article, execute, harvest, query, urls_source, write_config
from test_sources import COOKIE, TOKEN, serve_json

from harvester.sources.mp import publish_url

BIZ = "MzA3NzM2Mjc4Mw=="
OTHER = "MzkxMTAwMDAwMQ=="


def mp_config(tmp_path: Path, served: FakeWeChat) -> Path:
    auth = tmp_path / "mp-auth.json"
    auth.write_text(json.dumps({"cookie": COOKIE, "token": TOKEN}))
    auth.chmod(0o600)
    serve_json(served, publish_url(BIZ, TOKEN, 0), {"base_resp": {"ret": 200013}})
    other = add_article(served, 5001, biz=OTHER)
    sources = f'[[sources]]\nkind = "mp"\nfakeid = "{BIZ}"\nauth = "mp-auth.json"\n'
    return write_config(tmp_path, sources + urls_source(tmp_path, [other]))


def backend_requests(served: FakeWeChat) -> list[str]:
    return [path for path in served.paths() if path.startswith("/cgi-bin/")]


def test_a_login_that_never_worked_since_the_shutdown_is_told_so_once(
    served, archive, tmp_path, capsys
):
    config = mp_config(tmp_path, served)
    code, _, err = harvest(capsys, config)
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == (
        f"harvester: mp source 'mp:{BIZ}': the mp backend list answers freq control (ret "
        "200013) for good since 2026-07-30 and this login has not listed anything since; "
        'list the account with kind = "account" (no login) or kind = "weread" instead (this '
        "source is asked again in a week)"
    )
    assert lines[1].startswith("harvester: harvest partial: 1 new, ")
    assert query(archive, "SELECT key FROM articles") == [(f"{OTHER}:5001:1",)]
    assert query(archive, "SELECT host FROM host_backoff") == []
    assert len(backend_requests(served)) == 1


def test_the_next_nights_do_not_ask_the_backend_and_say_nothing(served, archive, tmp_path, capsys):
    config = mp_config(tmp_path, served)
    harvest(capsys, config)
    served.clear_requests()
    assert harvest(capsys, config) == (0, "", "")
    assert backend_requests(served) == []


def test_a_week_later_the_backend_is_asked_again(served, archive, tmp_path, capsys):
    config = mp_config(tmp_path, served)
    harvest(capsys, config)
    execute(archive, "UPDATE channel_state SET last_failed = '2026-01-01T00:00:00Z'")
    served.clear_requests()
    code, _, _ = harvest(capsys, config)
    assert (code, len(backend_requests(served))) == (1, 1)


def test_a_login_that_worked_after_the_shutdown_still_backs_off_as_before(
    served, archive, tmp_path, capsys
):
    config = mp_config(tmp_path, served)
    harvest(capsys, config)
    execute(
        archive,
        "UPDATE channel_state SET last_worked = '2026-08-02T00:00:00Z', last_failed = NULL, "
        "last_error = NULL",
    )
    code, _, err = harvest(capsys, config)
    assert code == 75
    assert "try again in 6 hours" in err
    assert query(archive, "SELECT host FROM host_backoff") == [("mp.weixin.qq.com",)]
