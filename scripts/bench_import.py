"""Import throughput and memory parts of scripts/bench.py (targets 1 and 2 of the issue).

Import: `harvester import <corpus> --no-images` into a new archive, as a subprocess (parse,
convert, write raw + Markdown files, index with FTS: end to end, process start included),
beside plain `markdownify.markdownify()` over the same bodies in this process.

Memory: the peak RSS of that import, and of one import of the corpus 8 times over (the
corpus plus 7 copies whose article links are altered so every copy is a new article),
from os.wait4 of each process.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench_util import CORPUS, ROOT, Measured, PartResult, Row, harvester_argv, run_measured

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

IMPORT_TARGET_RATIO = 0.35
PEAK_RSS_TARGET_MB = 200.0
FLAT_RSS_TARGET = 1.20
COPIES = 8
SUMMARY = re.compile(r"(\d+) new, (\d+) updated, (\d+) unchanged, (\d+) deleted, (\d+) failed")
SHORT_LINK = re.compile(r"(https?://mp\.weixin\.qq\.com/s/)([A-Za-z0-9_-]+)(.*)", re.S)


def corpus_files(limit: int | None) -> list[Path]:
    files = sorted(p for p in CORPUS.glob("*.md") if p.name != "PROVENANCE.md")
    return files[:limit] if limit else files


def corpus_missing() -> str | None:
    if CORPUS.is_dir() and any(CORPUS.glob("*.md")):
        return None
    return f"corpus not found at {CORPUS} (expected ../shared/corpus/mp_duty beside the checkout)"


def summary_counts(text: str) -> dict[str, int]:
    match = SUMMARY.search(text)
    if not match:
        return {}
    names = ("new", "updated", "unchanged", "deleted", "failed")
    return dict(zip(names, map(int, match.groups()), strict=True))


# --------------------------------------------------------------------------- baseline


def bodies_of(files: list[Path]) -> tuple[list[str], int]:
    """Article bodies (`parse_seed(text).body_html`) of the files; and how many had none."""
    from harvester.errors import InputError
    from harvester.seedfile import parse_seed

    bodies, skipped = [], 0
    for path in files:
        try:
            body = parse_seed(path.read_text(encoding="utf-8")).body_html
        except (InputError, UnicodeDecodeError):
            body = ""
        if body:
            bodies.append(body)
        else:
            skipped += 1
    return bodies, skipped


def _in_big_stack(function, *args):
    """Run `function` in a thread with a deep stack: plain markdownify recurses per nesting
    level, and a few real WeChat bodies nest deeper than Python's default limit."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = function(*args)
        except BaseException as error:  # pragma: no cover - re-raised below
            result["error"] = error

    old_limit = sys.getrecursionlimit()
    old_stack = threading.stack_size()
    sys.setrecursionlimit(200_000)
    threading.stack_size(512 * 1024 * 1024)
    try:
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    if "error" in result:
        raise result["error"]
    return result["value"]


def time_converter(convert, bodies: list[str]) -> tuple[float, int]:
    """Seconds to convert every body (in process), and how many raised."""

    def run() -> tuple[float, int]:
        failed = 0
        started = time.perf_counter()
        for body in bodies:
            try:
                convert(body)
            except Exception:
                failed += 1
        return time.perf_counter() - started, failed

    return _in_big_stack(run)


# --------------------------------------------------------------------------- copies


def variant_link(link: str, copy: int) -> str:
    """The same link made to name a different article (copy number `copy`)."""
    match = SHORT_LINK.match(link)
    if match:
        return f"{match[1]}{match[2]}-c{copy}{match[3]}"
    if re.search(r"[?&](mid|appmsgid)=\d+", link):
        return re.sub(r"([?&](?:mid|appmsgid)=\d+)", rf"\g<1>{copy}", link, count=1)
    if link.startswith(("http://", "https://")):
        return f"{link}{'&' if '?' in link else '?'}benchcopy={copy}"
    return link


def make_copies(files: list[Path], folder: Path, copies: int) -> list[Path]:
    """`copies` folders of the files, each with every article link altered (temporary)."""
    from harvester.seedfile import FOOTER

    folders = []
    for copy in range(1, copies + 1):
        target = folder / f"copy{copy}"
        target.mkdir(parents=True)
        for path in files:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            footer = FOOTER.search(text)
            if footer:
                start, end = footer.span(1)
                text = text[:start] + variant_link(footer.group(1), copy) + text[end:]
            (target / path.name).write_text(text, encoding="utf-8", errors="surrogateescape")
        folders.append(target)
    return folders


# --------------------------------------------------------------------------- parts


def import_args(files: list[Path], limit: int | None) -> list[str]:
    """The whole corpus folder when importing it all (as the issue says), else the files."""
    return [str(CORPUS)] if not limit else [str(p) for p in files]


def run_import(work: Path, name: str, sources: list[str]) -> Measured:
    """The archive stays until the run ends (see bench.py on deleting files)."""
    return run_measured(
        harvester_argv("import", *sources, "--archive", str(work / name), "--no-images")
    )


def import_part(work: Path, *, limit: int | None, repeat: int, log) -> PartResult:
    part = PartResult("import")
    missing = corpus_missing()
    if missing:
        part.skipped = missing
        return part
    files = corpus_files(limit)
    bodies, no_body = bodies_of(files)
    log(f"import: {len(files)} corpus files, {len(bodies)} bodies; markdownify baseline ...")
    import markdownify

    base_runs = [time_converter(markdownify.markdownify, bodies) for _ in range(repeat)]
    baseline = min(seconds for seconds, _ in base_runs)
    base_failed = base_runs[0][1]

    from harvester.markdown import html_to_markdown

    log("import: html_to_markdown in process ...")
    ours, ours_failed = min(time_converter(html_to_markdown, bodies) for _ in range(repeat))

    runs = []
    for n in range(repeat):
        log(f"import: harvester import run {n + 1}/{repeat} ...")
        runs.append(run_import(work, f"import-{n}", import_args(files, limit)))
    best = min(runs, key=lambda m: m.seconds)
    counts = summary_counts(best.stdout)
    ratio = best.seconds / baseline if baseline else None
    articles = counts.get("new", 0) + counts.get("unchanged", 0) + counts.get("updated", 0)
    part.rows += [
        Row(
            "import.time",
            "import",
            f"harvester import, {len(files)} files, --no-images (end to end)",
            best.seconds,
            "s",
            baseline,
            f"markdownify() over the same {len(bodies)} bodies",
            ratio,
            f"≤ {IMPORT_TARGET_RATIO}× baseline",
            # judged on the whole corpus only: on a few files process start-up dominates
            (ratio is not None and ratio <= IMPORT_TARGET_RATIO) if not limit else None,
            f"best of {repeat}; {1000 * best.seconds / max(1, len(files)):.1f} ms/file; "
            f"target {IMPORT_TARGET_RATIO * baseline:.2f} s",
        ),
        Row(
            "import.convert",
            "import",
            "html_to_markdown() alone, same bodies (in process)",
            ours,
            "s",
            baseline,
            "markdownify()",
            ours / baseline if baseline else None,
            note=f"{1000 * ours / max(1, len(bodies)):.1f} ms/body; share of import "
            f"{ours / best.seconds:.0%}"
            if best.seconds
            else "",
        ),
    ]
    part.details = {
        "files": len(files),
        "bodies": len(bodies),
        "files_without_body": no_body,
        "body_bytes_mean": sum(len(b.encode()) for b in bodies) / max(1, len(bodies)),
        "markdownify_seconds": [round(s, 4) for s, _ in base_runs],
        "markdownify_failed": base_failed,
        "html_to_markdown_seconds": ours,
        "html_to_markdown_failed": ours_failed,
        "import_seconds": [round(m.seconds, 4) for m in runs],
        "import_peak_rss_mb": [round(m.peak_rss_mb, 1) for m in runs],
        "import_exit_codes": [m.returncode for m in runs],
        "import_summary": best.stdout.strip().splitlines()[-1:] if best.stdout.strip() else [],
        "import_counts": counts,
        "articles_archived": articles,
        "import_stderr_tail": best.tail(),
    }
    return part


def memory_part(
    work: Path,
    *,
    limit: int | None,
    peak_single: float | None,
    single_seconds: float | None,
    log,
) -> PartResult:
    """The 8× import; `peak_single` (MB) and `single_seconds` come from the import part's
    single imports when it ran (else one is run here)."""
    part = PartResult("memory")
    missing = corpus_missing()
    if missing:
        part.skipped = missing
        return part
    files = corpus_files(limit)
    sources = import_args(files, limit)
    if peak_single is None:
        log("memory: harvester import, corpus once ...")
        single = run_import(work, "mem-1x", sources)
        peak_single, single_seconds = single.peak_rss_mb, single.seconds
    log(f"memory: making {COPIES - 1} altered copies of the corpus (temporary) ...")
    copies_dir = work / "copies"
    folders = make_copies(files, copies_dir, COPIES - 1)
    log(f"memory: harvester import, corpus {COPIES} times over ...")
    many = run_import(work, "mem-8x", [*sources, *map(str, folders)])
    counts = summary_counts(many.stdout)
    growth = many.peak_rss_mb / peak_single if peak_single else None
    part.rows += [
        Row(
            "memory.peak",
            "memory",
            f"peak RSS, import of {len(files)} files",
            peak_single,
            "MB",
            PEAK_RSS_TARGET_MB,
            "limit",
            peak_single / PEAK_RSS_TARGET_MB,
            f"< {PEAK_RSS_TARGET_MB:.0f} MB",
            peak_single < PEAK_RSS_TARGET_MB,
        ),
        Row(
            "memory.flat",
            "memory",
            f"peak RSS, import of the corpus {COPIES}× over ({counts.get('new', '?')} new)",
            many.peak_rss_mb,
            "MB",
            peak_single,
            "peak RSS of the single import",
            growth,
            f"≤ {FLAT_RSS_TARGET:.2f}× baseline",
            growth is not None and growth <= FLAT_RSS_TARGET,
            f"{many.seconds:.1f} s, {1000 * many.seconds / max(1, len(files) * COPIES):.1f} "
            "ms/file",
        ),
    ]
    if single_seconds:
        startup = run_measured(harvester_argv("--version")).seconds
        per_one = 1000 * max(0.0, single_seconds - startup) / len(files)
        per_many = 1000 * max(0.0, many.seconds - startup) / (len(files) * COPIES)
        part.rows.append(
            Row(
                "memory.time_per_file",
                "memory",
                f"import time per file, corpus {COPIES}× over",
                per_many,
                "ms",
                per_one,
                "same for the single import",
                per_many / per_one if per_one else None,
                note=f"process start ({startup:.2f} s) left out; not a target of the issue: "
                "shows whether import slows down as the archive grows",
            )
        )
    part.details = {
        "files_per_copy": len(files),
        "copies": COPIES,
        "single_peak_rss_mb": peak_single,
        "many_peak_rss_mb": many.peak_rss_mb,
        "many_seconds": many.seconds,
        "many_exit_code": many.returncode,
        "many_counts": counts,
        "many_stderr_tail": many.tail(3),
    }
    return part
