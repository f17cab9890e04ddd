"""Discovery part of scripts/bench.py (issue 16's targets).

A simulated account (tests/fakeaccount.py) on the fake WeChat in this process: 300
articles over 120 mass sends (mids with gaps, 1-4 articles a send), 240 of them in 4
overlapping albums, 60 in none. `harvester harvest` runs as a subprocess with one
`kind = "account"` source given one article link (an article in the middle of the
account's history, in an album), politeness `requests_per_second = rate`, jitter 0.

Targets: ≥ 99% of the account discovered (and archived) by the first run, with ≤ 1.15
requests per archived article, every request counted (listing ones included); the
politeness limit held (any 21 requests in a row span at least 20/rate at the server,
within 10%: arrival times jitter by a few milliseconds); the next night, after 3 new
articles, ≤ 10 listing requests.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench_util import ROOT, PartResult, Row, harvester_argv, run_measured

BIZ = "MzkxMTAwMDAwMQ=="
FOUND_TARGET = 0.99
REQUESTS_TARGET = 1.15
NIGHT_TARGET = 10
WINDOW = 20  # the rate is judged over this many request intervals (arrival times jitter)


def _tests_on_path() -> None:
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


def discovery_part(work: Path, *, quick: bool, rate: float, log) -> PartResult:
    _tests_on_path()
    from fakeaccount import SimAccount
    from fakewechat import FakeWeChat

    part = PartResult("discovery")
    size = {"sends": 30, "articles": 60, "in_albums": 48} if quick else {}
    account = SimAccount.generate(BIZ, **size)
    folder = Path(tempfile.mkdtemp(prefix="discovery-", dir=work))
    with FakeWeChat() as fake:
        account.install(fake)
        middle = len(account.articles) // 2
        seed = next(a for a in account.articles[middle:] if a.albums)
        config = folder / "harvester.toml"
        config.write_text(
            f'archive = "archive"\n[politeness]\nrequests_per_second = {rate}\n'
            f'jitter = 0\n[[sources]]\nkind = "account"\nurl = "{account.link(seed)}"\n',
            encoding="utf-8",
        )
        env = {"HARVESTER_RELAY": fake.relay_env()}
        log(f"discovery: first run, {len(account.articles)} articles, rate {rate}/s")
        first = _night(fake, config, env)
        archived = _archived(folder / "archive")
        total = len(account.articles)
        found = len(archived & account.article_keys()) / total
        per_article = first["total"] / max(1, len(archived))
        account.publish(3, album=next(iter(account.albums)))
        log("discovery: the next night, 3 new articles")
        second = _night(fake, config, env)
        new_found = len(_archived(folder / "archive") & account.article_keys())
    judged = not quick
    span = first["least_span_s"]
    part.rows = [
        Row(
            "discovery.found",
            "discovery",
            "share of the account discovered by the first run (one seed link)",
            found * 100,
            "%",
            FOUND_TARGET * 100,
            "target",
            target=f"≥ {FOUND_TARGET:.0%}",
            passed=found >= FOUND_TARGET if judged else None,
            note=f"{len(archived)} of {total} archived",
        ),
        Row(
            "discovery.requests_per_article",
            "discovery",
            "requests per archived article, listing ones included (first run)",
            per_article,
            "req",
            REQUESTS_TARGET,
            "target",
            per_article / REQUESTS_TARGET,
            target=f"≤ {REQUESTS_TARGET}",
            passed=per_article <= REQUESTS_TARGET if judged else None,
            note=", ".join(f"{k} {v}" for k, v in sorted(first["by_path"].items())),
        ),
        Row(
            "discovery.politeness",
            "discovery",
            f"least time any {WINDOW + 1} requests in a row took at the server",
            span,
            "s",
            WINDOW / rate,
            f"{WINDOW} ÷ requests_per_second",
            span * rate / WINDOW if span is not None else None,
            target="≥ 0.9× (the rate held)",
            passed=(span is not None and span >= 0.9 * WINDOW / rate) if judged else None,
        ),
        Row(
            "discovery.next_night",
            "discovery",
            "listing requests the next night (3 new articles)",
            second["listing"],
            "req",
            NIGHT_TARGET,
            "target",
            target=f"≤ {NIGHT_TARGET}",
            passed=second["listing"] <= NIGHT_TARGET and new_found == len(account.articles)
            if judged
            else None,
            note=", ".join(f"{k} {v}" for k, v in sorted(second["by_path"].items())),
        ),
    ]
    part.details = {
        "articles": total,
        "albums": len(account.albums),
        "in_no_album": sum(1 for a in account.articles if not a.albums),
        "rate_per_host": rate,
        "first": first,
        "second": second,
        "found_after_second": new_found,
    }
    return part


def _night(fake, config: Path, env: dict[str, str]) -> dict:
    fake.clear_requests()
    measured = run_measured(harvester_argv("harvest", "--config", str(config)), env=env)
    paths = fake.paths()
    times = fake.request_times
    by_path = Counter(
        "/s (article pages)" if p.startswith("/s") else p.split("?")[0] for p in paths
    )
    return {
        "exit_code": measured.returncode,
        "seconds": measured.seconds,
        "total": len(paths),
        "listing": sum(1 for p in paths if not p.startswith("/s")),
        "by_path": dict(by_path),
        "least_span_s": min(
            (b - a for a, b in zip(times, times[WINDOW:], strict=False)), default=None
        ),
        "stderr_tail": measured.tail(),
    }


def _archived(archive: Path) -> set[str]:
    path = archive / "archive.db"
    if not path.is_file():
        return set()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT key FROM articles")}
