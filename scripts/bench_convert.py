"""The converter's growth part of scripts/bench.py (issue 11, item 9): converting 40,000
nested spans against 20,000, in process, the best of three each. Linear work doubles the
time (2×); the quadratic converter of before took 4× (8-11 s for 40,000)."""

from __future__ import annotations

import sys
import time

from bench_util import ROOT, PartResult, Row

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NESTING_TARGET_RATIO = 3.0
SMALL, LARGE = 20_000, 40_000


def nested_spans(depth: int) -> str:
    return "<section>" + "<span>字" * depth + "</span>" * depth + "</section>"


def best_seconds(convert, html: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        convert(html)
        best = min(best, time.perf_counter() - started)
    return best


def nesting_part(log) -> PartResult:
    from harvester.markdown import html_to_markdown

    part = PartResult("convert")
    log(f"convert: {SMALL:,} and {LARGE:,} nested spans ...")
    small = best_seconds(html_to_markdown, nested_spans(SMALL))
    large = best_seconds(html_to_markdown, nested_spans(LARGE))
    ratio = large / small if small else None
    part.rows.append(
        Row(
            "convert.nesting",
            "convert",
            f"html_to_markdown(), {LARGE:,} nested spans",
            large,
            "s",
            small,
            f"{SMALL:,} nested spans",
            ratio,
            f"≤ {NESTING_TARGET_RATIO:.0f}× baseline (linear 2×, quadratic 4×)",
            ratio is not None and ratio <= NESTING_TARGET_RATIO,
            "best of 3 each",
        )
    )
    part.details.update({"small_seconds": small, "large_seconds": large})
    return part
