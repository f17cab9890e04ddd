"""Helpers for scripts/bench.py: measured subprocesses, statistics, result rows."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mp_duty"


@dataclass
class Measured:
    """One finished process: wall time, its own peak RSS, exit code and output."""

    argv: list[str]
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def tail(self, lines: int = 5) -> str:
        return "\n".join(self.stderr.strip().splitlines()[-lines:])


def harvester_argv(*args: str) -> list[str]:
    """The real CLI of this checkout, as a subprocess command."""
    return [sys.executable, "-m", "harvester.cli", *args]


def run_measured(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> Measured:
    """Run `argv` to completion; wall time and the peak RSS of that process alone.

    The peak comes from os.wait4() on the child's pid: the kernel's ru_maxrss for
    exactly that process (and any children it waited for), unlike
    RUSAGE_CHILDREN, which is the maximum over every child this process ever had.
    Output goes to temporary files, so a chatty child can never block on a pipe.
    """
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [full_env.get("PYTHONPATH")])]
    )
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=full_env, cwd=cwd or ROOT
        )
        deadline = None if timeout is None else started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG if deadline else 0)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            argv=list(argv),
            seconds=seconds,
            peak_rss_mb=usage.ru_maxrss / 1024.0,  # Linux: kilobytes
            returncode=process.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Row:
    """One line of the report: a figure beside its baseline and target.

    `passed` is None for figures without a target (informational).
    """

    id: str
    part: str
    figure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PartResult:
    """What one part of the benchmark produced: rows, raw details, and why it was skipped."""

    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    seconds: float = 0.0


def fmt_number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if value != value:  # NaN
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        text = f"{value:,.0f}"
    elif magnitude >= 100:
        text = f"{value:.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".strip()
