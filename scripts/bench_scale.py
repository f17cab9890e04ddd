"""Scale part of scripts/bench.py (target 4 of the issue, and the 100 ms search target).

A synthetic archive (scripts/synth_archive.py) grown in steps to 10%, 25%, 50% and 100% of
--scale-max; at each step:

- build: ms per article of the index writes for the articles added in that step
  (`save_article` + `save_images`, one transaction per article, as `import --no-images`
  does; Markdown conversion and file writes are not included: the import part measures
  them);
- size: bytes of archive.db (after a WAL checkpoint) per article;
- search: latency of `archive.search.search()` (what `harvester search` and the /-/search
  page run, limit 20) for 2- and 4-character queries from common to selective, p50/p95
  over repeated runs on a warm read-only connection; and the whole HTTP request of
  plain `datasette archive.db`'s articles table page for `?_search=` (rows, count, the
  four facets, the best-matches box, the highlighted snippets), p50/p95 over repeated
  requests and each query's first request, on a server started for the step.
  A query matches a share of the archive, and every match is ranked, so its time grows
  with the archive: the per-article figure is p95 per 1,000 archived articles, and the
  2-character p95 of search() and both table-page p95s must stay under 100 ms at 100k;
- key lookup: `Archive.key_for` for a new short-link article, the lookup `import`
  and `fetch` make per article before saving: not part of the build above;
- rebuild: `harvester rebuild` as a subprocess. Rebuild re-converts every article that
  has a raw capture, so only a sample of the articles added in that step (about
  --rebuild-sample) gets one, and the previous step's sample is cleared first: each
  rebuild is the real command over a full-size archive, on a sample. Articles/s counts
  the whole process (start-up included).

"Flat" means the per-article cost at the largest step is within 25% of the smallest; it is
judged only when the smallest step has 10,000 articles or more (not in --quick runs).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils
from bench_import import summary_counts
from bench_util import PartResult, Row, harvester_argv, percentile, run_measured
from synth_archive import BuildStats, TextModel, build

from archive.fulltext import fts_query
from archive.search import search

FLAT_RATIO = 1.25
SEARCH_TARGET_MS = 100.0
SEARCH_TARGET_AT = 100_000
FLAT_FROM = 10_000  # flatness is judged over the range (10k up), not on tiny archives
STEPS = (0.1, 0.25, 0.5, 1.0)
MIN_REPS = 3
QUERY_BUDGET_S = 20.0


def scale_points(scale_max: int) -> list[int]:
    return sorted({max(10, round(scale_max * step)) for step in STEPS})


DATASETTE = str(Path(sys.executable).with_name("datasette"))
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextlib.contextmanager
def datasette_server(db_path: Path) -> Iterator[str]:
    """Plain `datasette archive.db` (default settings, the plugin from its entry point) on
    a free loopback port, until the block ends; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [DATASETTE, str(db_path), "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    _NO_PROXY.open(base + "/-/versions.json", timeout=5).read()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"datasette did not start: {argv}") from None
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def datasette_page(base: str, query: str) -> float:
    """ms for the whole GET of /archive/articles?_search=QUERY, the page as Datasette renders
    it (rows, count, the four facets, the best matches, the highlighted snippets)."""
    started = time.perf_counter()
    with _NO_PROXY.open(f"{base}/archive/articles?_search={quote(query)}", timeout=60) as page:
        page.read()
        if page.status != 200:
            raise RuntimeError(f"datasette answered {page.status} for {query!r}")
    return 1000 * (time.perf_counter() - started)


def time_datasette(db_path: Path, queries: list[str], reps: int) -> dict[str, Any]:
    """p50/p95 (ms) of the table page's search over `queries`, each asked `reps` times;
    `first_ms` is each query's first request (its matches not yet found: see
    archive/datasette_plugin/table_search.py), after one other page warmed the server."""
    with datasette_server(db_path) as base:
        _NO_PROXY.open(base + "/archive/articles", timeout=60).read()
        first = {query: datasette_page(base, query) for query in queries}
        times: dict[str, list[float]] = {q: [] for q in queries}
        for query in queries:
            started_query = time.perf_counter()
            for rep in range(reps):
                if rep >= MIN_REPS and time.perf_counter() - started_query > QUERY_BUDGET_S:
                    break
                times[query].append(datasette_page(base, query))
    runs = min(len(values) for values in times.values())
    every = [ms for values in times.values() for ms in values[:runs]]
    return {
        "first_ms": {q: round(ms, 1) for q, ms in first.items()},
        "first_p95_ms": percentile(list(first.values()), 95),
        "per_query_p95_ms": {q: round(percentile(v, 95), 1) for q, v in times.items()},
        "datasette_p50_ms": percentile(every, 50),
        "datasette_p95_ms": percentile(every, 95),
    }


def time_search(db_path: Path, queries: list[str], reps: int) -> dict[str, Any]:
    """p50/p95 latency (ms) of search() and of Datasette's table page over `queries`."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        db = sqlite_utils.Database(conn)
        hits, first = {}, {}
        for query in queries:
            started = time.perf_counter()
            search(db, query, 20)
            first[query] = 1000 * (time.perf_counter() - started)
            hits[query] = conn.execute(
                "select count(*) from articles_fts where articles_fts match ?", [fts_query(query)]
            ).fetchone()[0]
        api: dict[str, list[float]] = {q: [] for q in queries}
        for query in queries:
            started_query = time.perf_counter()
            for rep in range(reps):
                if rep >= MIN_REPS and time.perf_counter() - started_query > QUERY_BUDGET_S:
                    break  # a slow query: fewer runs, so the whole part stays bounded
                started = time.perf_counter()
                search(db, query, 20)
                api[query].append(1000 * (time.perf_counter() - started))
    finally:
        conn.close()
    # pooled over the queries, each counted as often as the least-run one
    runs = min(len(values) for values in api.values())
    every_api = [ms for values in api.values() for ms in values[:runs]]
    page = time_datasette(db_path, queries, reps)
    return {
        "queries": {
            q: {
                "hits": hits[q],
                "first_ms": round(first[q], 2),
                "search_p50_ms": round(percentile(api[q], 50), 2),
                "search_p95_ms": round(percentile(api[q], 95), 2),
                "datasette_first_ms": page["first_ms"][q],
                "datasette_p95_ms": page["per_query_p95_ms"][q],
                "runs": len(api[q]),
            }
            for q in queries
        },
        "search_p50_ms": percentile(every_api, 50),
        "search_p95_ms": percentile(every_api, 95),
        "datasette_p50_ms": page["datasette_p50_ms"],
        "datasette_p95_ms": page["datasette_p95_ms"],
        "datasette_first_p95_ms": page["first_p95_ms"],
    }


def time_resolve_key(root: Path, reps: int = 200) -> float:
    """ms per `Archive.key_for` of a short-link page not yet archived: the lookup
    `import` and `fetch` make (twice) for every new article before saving it."""
    from archive.index import open_index
    from harvester.archiver import Archive
    from harvester.model import Page

    archive = Archive(root, open_index(root / "archive.db"))
    try:
        times = []
        for n in range(reps + 1):
            page = Page(kind="article", short_url=f"https://mp.weixin.qq.com/s/benchNew{n}")
            started = time.perf_counter()
            archive.key_for(page)
            times.append(1000 * (time.perf_counter() - started))
        return percentile(times[1:], 50)
    finally:
        archive.close()


def _checkpoint_size(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = db_path.with_name(db_path.name + "-wal")
    return db_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _clear_sample(db_path: Path, keys: list[str]) -> None:
    if not keys:
        return
    with sqlite3.connect(db_path) as conn:
        conn.executemany("UPDATE articles SET raw_path = NULL WHERE key = ?", [(k,) for k in keys])


def scale_part(work: Path, *, scale_max: int, sample: int, reps: int, log) -> PartResult:
    part = PartResult("scale")
    model = TextModel()
    queries = {2: model.queries(2), 4: model.queries(4)}
    root = work / "synthetic"
    shutil.rmtree(root, ignore_errors=True)
    db_path = root / "archive.db"
    startup = run_measured(harvester_argv("--version")).seconds
    curve: list[dict[str, Any]] = []
    previous, previous_sample = 0, []
    for point in scale_points(scale_max):
        segment = point - previous
        every = max(1, segment // max(1, sample))
        log(f"scale: building articles {previous:,}..{point:,} ...")
        stats = build(root, model, previous, point, sample_every=every, stats=BuildStats())
        _clear_sample(db_path, previous_sample)
        size = _checkpoint_size(db_path)
        # The build leaves up to gigabytes for the kernel to write back; let it finish
        # first, or the searches and the rebuild below are timed against that flush.
        os.sync()
        log(f"scale: {point:,} articles, {size / 2**20:.0f} MB; searching ...")
        searched = {n: time_search(db_path, queries[n], reps) for n in (2, 4)}
        resolve_ms = time_resolve_key(root)
        log(f"scale: rebuild of a {len(stats.sample)}-article sample ...")
        rebuilt = run_measured(harvester_argv("rebuild", "--archive", str(root)))
        counts = summary_counts(rebuilt.stdout)
        done = sum(counts.get(k, 0) for k in ("updated", "unchanged"))
        curve.append(
            {
                "articles": point,
                "added": stats.articles,
                "build_ms_per_article": 1000 * stats.seconds / max(1, stats.articles),
                "build_seconds": stats.seconds,
                "generate_seconds": stats.generate_seconds,
                "db_bytes": size,
                "db_bytes_per_article": size / point,
                "resolve_key_ms": resolve_ms,
                "search_2": searched[2],
                "search_4": searched[4],
                **{
                    f"search_{n}_p95_ms_per_1k": 1000 * searched[n]["search_p95_ms"] / point
                    for n in (2, 4)
                },
                "rebuild_sample": len(stats.sample),
                "rebuild_seconds": rebuilt.seconds,
                "rebuild_articles_per_s": done / rebuilt.seconds if rebuilt.seconds else None,
                "rebuild_ms_per_article": 1000 * rebuilt.seconds / max(1, done),
                "rebuild_ms_per_article_less_startup": 1000
                * max(0.0, rebuilt.seconds - startup)
                / max(1, done),
                "rebuild_peak_rss_mb": rebuilt.peak_rss_mb,
                "rebuild_counts": counts,
                "rebuild_exit_code": rebuilt.returncode,
                "rebuild_stderr_tail": rebuilt.tail(3),
            }
        )
        previous, previous_sample = point, stats.sample
    part.details = {
        "points": curve,
        "queries": {str(n): q for n, q in queries.items()},
        "reps": reps,
        "cli_startup_s": startup,
        "archive": str(root),
        "disk_bytes": sum(
            f.stat().st_size for f in root.rglob("*") if f.is_file() and not f.is_symlink()
        ),
    }
    part.rows += _rows(curve, startup)
    return part


def _flat_row(curve: list[dict], key: str, figure: str, unit: str, scale: float = 1.0) -> Row:
    first, last = curve[0], curve[-1]
    a, b = first[key] * scale, last[key] * scale
    ratio = b / a if a else None
    judged = len(curve) > 1 and first["articles"] >= FLAT_FROM
    return Row(
        f"scale.{key}",
        "scale",
        f"{figure} at {last['articles']:,}",
        b,
        unit,
        a,
        f"same at {first['articles']:,}",
        ratio,
        f"≤ {FLAT_RATIO}× (flat)" if judged else "",
        (ratio is not None and ratio <= FLAT_RATIO) if judged else None,
        " → ".join(f"{p[key] * scale:.3g}" for p in curve),
    )


def _rows(curve: list[dict], startup: float) -> list[Row]:
    rows = [
        _flat_row(curve, "build_ms_per_article", "build, index writes per article", "ms"),
        _flat_row(curve, "db_bytes_per_article", "database size per article", "KB", 1 / 1024),
        _flat_row(curve, "rebuild_ms_per_article", "harvester rebuild, per article", "ms"),
        _flat_row(
            curve, "resolve_key_ms", "import/fetch key lookup per new short-link article", "ms"
        ),
    ]
    last = curve[-1]
    judged = last["articles"] >= SEARCH_TARGET_AT
    for n in (2, 4):
        s = last[f"search_{n}"]
        first = curve[0][f"search_{n}"]
        rows.append(
            Row(
                f"scale.search_{n}",
                "scale",
                f"search() p95, {n}-char queries, at {last['articles']:,}",
                s["search_p95_ms"],
                "ms",
                first["search_p95_ms"],
                f"same at {curve[0]['articles']:,}",
                s["search_p95_ms"] / first["search_p95_ms"] if first["search_p95_ms"] else None,
                f"< {SEARCH_TARGET_MS:.0f} ms at {SEARCH_TARGET_AT:,}" if n == 2 else "",
                (s["search_p95_ms"] < SEARCH_TARGET_MS if judged else None) if n == 2 else None,
                f"p50 {s['search_p50_ms']:.1f} ms; hits "
                + ", ".join(f"{q}:{v['hits']}" for q, v in s["queries"].items()),
            )
        )
        rows.append(
            _flat_row(
                curve,
                f"search_{n}_p95_ms_per_1k",
                f"search() p95 per 1,000 archived articles, {n}-char",
                "ms",
            )
        )
        rows.append(
            Row(
                f"scale.datasette_{n}",
                "scale",
                f"datasette articles?_search= page p95 (HTTP), {n}-char, at {last['articles']:,}",
                s["datasette_p95_ms"],
                "ms",
                first["datasette_p95_ms"],
                f"same at {curve[0]['articles']:,}",
                s["datasette_p95_ms"] / first["datasette_p95_ms"]
                if first["datasette_p95_ms"]
                else None,
                f"< {SEARCH_TARGET_MS:.0f} ms at {SEARCH_TARGET_AT:,}",
                s["datasette_p95_ms"] < SEARCH_TARGET_MS if judged else None,
                f"p50 {s['datasette_p50_ms']:.1f} ms; a query's first request p95 "
                f"{s['datasette_first_p95_ms']:.0f} ms (rows, count, 4 facets, best 10, snippets)",
            )
        )
    rows.append(
        Row(
            "scale.rebuild_rate",
            "scale",
            f"harvester rebuild throughput at {last['articles']:,} (sample)",
            last["rebuild_articles_per_s"],
            "art/s",
            curve[0]["rebuild_articles_per_s"],
            f"same at {curve[0]['articles']:,}",
            note=f"{last['rebuild_sample']} sampled articles; process start ≈ {startup:.2f} s "
            "included",
        )
    )
    return rows
