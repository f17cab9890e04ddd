"""scripts/bench.py runs in its --quick mode and reports in the promised shape.

No timing is asserted here: the benchmark is a report, and this machine's speed is not
a test result. Without ../shared/corpus the import and memory parts must say they
were skipped, and the rest must still run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "scripts" / "bench.py"
CORPUS = ROOT.parent / "shared" / "corpus" / "mp_duty"
ROW_KEYS = {
    "id",
    "part",
    "figure",
    "value",
    "unit",
    "baseline",
    "baseline_label",
    "ratio",
    "target",
    "passed",
    "note",
}


def run_bench(*args: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--workdir", str(workdir), *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        check=False,
    )


def test_quick_json_has_every_part(tmp_path: Path) -> None:
    proc = run_bench("--json", "--search-reps", "2", "--rebuild-sample", "20", workdir=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert {"machine", "params", "results", "missed", "skipped", "details"} <= set(data)
    assert data["params"]["quick"] is True
    assert data["params"]["scale_max"] == 1000
    assert data["params"]["harvest_articles"] == 10

    rows = data["results"]
    for row in rows:
        assert set(row) == ROW_KEYS, row
        assert row["passed"] in (True, False, None)
        assert isinstance(row["value"], int | float), row
    ids = {row["id"] for row in rows}
    expected = {
        "harvest.time",
        "harvest.span",
        "scale.build_ms_per_article",
        "scale.db_bytes_per_article",
        "scale.rebuild_ms_per_article",
        "scale.search_2",
        "scale.search_4",
        "scale.datasette_2",
        "scale.rebuild_rate",
        "discovery.found",
        "discovery.requests_per_article",
        "discovery.politeness",
        "discovery.next_night",
        "export.warc_peak",
        "export.wacz_peak",
        "export.epub_peak",
    }
    if CORPUS.is_dir():
        expected |= {"import.time", "import.convert", "memory.peak", "memory.flat"}
        assert data["details"]["import"]["files"] == 20
    else:
        assert "corpus not found" in data["skipped"]["import"]
        assert "corpus not found" in data["skipped"]["memory"]
    assert expected <= ids, sorted(expected - ids)
    assert not any(str(why).startswith("failed") for why in data["skipped"].values()), data[
        "skipped"
    ]
    assert data["missed"] == [row["id"] for row in rows if row["passed"] is False]

    discovery = data["details"]["discovery"]
    assert (discovery["articles"], discovery["found_after_second"]) == (60, 63)
    harvest = data["details"]["harvest"]
    assert harvest["archived"] == 10
    assert harvest["images_ok"] == 50
    points = data["details"]["scale"]["points"]
    assert [p["articles"] for p in points] == [100, 250, 500, 1000]
    assert all(p["rebuild_exit_code"] == 0 for p in points)
    assert all(p["search_2"]["queries"] for p in points)
    export = data["details"]["export"]
    assert (export["articles"], export["baseline_articles"]) == (200, 20)
    assert export["full"]["epub"]["summary"].startswith("200 articles, 50 images → ")


def test_quick_table_for_one_part(tmp_path: Path) -> None:
    proc = run_bench(
        "--only",
        "scale",
        "--scale-max",
        "200",
        "--rebuild-sample",
        "5",
        "--search-reps",
        "1",
        workdir=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "figure" in out and "baseline" in out and "ratio" in out and "target" in out
    assert "scale curve" in out
    assert "[import]" not in out
    # the verdict line: "all N judged target(s) met", "MISSED N target(s):" or, in a quick
    # run of the scale part alone (flatness is judged from 10,000 articles up), none judged
    assert "target(s)" in out or "no target judged" in out


def test_unknown_part_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_bench("--only", "nonsense", workdir=tmp_path)
    assert proc.returncode == 2
    assert "unknown part" in proc.stderr


def test_profile_samples_are_put_in_the_phase_of_their_innermost_named_frame() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from bench_profile import RATE, sampled_phases
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    main = 'process 100:"python -m harvester.cli import x"'
    worker = 'process 101:"python -m harvester.cli import x"'
    raw = "\n".join(
        [
            f"{main};main (harvester/cli.py:1);save_article (archive/index/articles.py:9) {RATE}",
            f"{main};Archive.save (harvester/archiver.py:5);write_atomic (archive/files.py:2) 5",
            (
                f"{main};{worker};prepare (harvester/jobs.py:1);"
                "preclean (harvester/markdown/preclean.py:3) 10"
            ),
            f"{main};{worker};prepare (harvester/jobs.py:1) 15",
            f"{main} 20",
        ]
    )
    profile = sampled_phases(raw)
    assert profile["workers"] == 1
    assert profile["seconds"] == {
        "main: index: article row, revision, FTS": 1.0,
        "main: other": round(20 / RATE, 3),
        "workers: other": round(15 / RATE, 3),
        "workers: pre-clean (lexbor)": round(10 / RATE, 3),
        "main: write files (atomic, fsync)": round(5 / RATE, 3),
    }
