"""`scripts/bench.py --profile`: where `harvester import` spends its time, sampled.

py-spy samples the real command (main process and worker processes, no instrumentation)
and each sample is put in the phase of its innermost frame that names one, so the
phases add up to every sample taken. scripts/README.md explains the results.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench_import import corpus_files, corpus_missing, import_args
from bench_util import harvester_argv

RATE = 250  # samples a second, per process
PROCESS = re.compile(r"process (\d+):")

# (phase, frame prefix as py-spy names frames: "function (path"); the innermost frame of a
# sample that starts with one of these decides its phase.
WORKER_PHASES = (
    ("read and parse the source file", "read_source (harvester/reader.py"),
    ("pre-clean (lexbor)", "preclean (harvester/markdown/preclean.py"),
    ("copy into the converter's tree", "from_lexbor (harvester/htmltree.py"),
    ("resolve sentinels (finish)", "finish (harvester/markdown/finish.py"),
    ("convert (markdownify subclass)", "convert_soup (harvester/markdown/converter.py"),
    ("find links to other articles", "find_article_links (harvester/links.py"),
    ("search copy (CJK spacing)", "search_copy (archive/fulltext.py"),
    ("gzip the raw page", "gzip_raw (archive/files.py"),
)
MAIN_PHASES = (
    ("start-up (imports)", "_find_and_load (<frozen importlib._bootstrap>"),
    ("open the archive (schema check)", "open (harvester/archiver.py"),
    ("write files (atomic, fsync)", "write_atomic (archive/files.py"),
    ("index: article row, revision, FTS", "save_article (archive/index/articles.py"),
    ("index: images, links, rendering", "save_images (archive/index/media.py"),
    ("index: images, links, rendering", "save_links (archive/index/media.py"),
    ("index: images, links, rendering", "update_rendering (archive/index/articles.py"),
    ("index: images, links, rendering", "note_first_capture (archive/index/articles.py"),
    ("commit (one per batch)", "commit (harvester/jobs.py"),
    ("receive prepared articles", "result_iterator (concurrent/futures/"),
    ("front matter, paths, glue", "_save_article (harvester/pipeline.py"),
)


def pyspy_command() -> str | None:
    """py-spy beside this Python (a venv's bin/, not always on PATH), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


PYSPY_MISSING = "py-spy not installed (pip install py-spy, or the project's [bench] extra)"


def phase_of(frames: list[str], phases: tuple[tuple[str, str], ...]) -> str:
    for frame in reversed(frames):
        head, _, where = frame.partition(" (")
        function = f"{head.rpartition('.')[2]} ({where}"  # "Class.method (…" as "method (…"
        for label, prefix in phases:
            if function.startswith(prefix):
                return label
    return "other"


def sampled_phases(raw: str) -> dict[str, Any]:
    """Seconds per phase from py-spy's raw (collapsed stacks) output, main process apart
    from workers. The first frames of each stack name the process: the lowest pid is the
    command itself, the others its workers."""
    samples: list[tuple[int, list[str], int]] = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        processes = 0  # a worker's stack starts with its parent's process frame, then its own
        while processes < len(frames) and PROCESS.match(frames[processes]):
            processes += 1
        pid = int(PROCESS.match(frames[processes - 1]).group(1))
        samples.append((pid, frames[processes:] or ["(outside Python)"], int(count)))
    main_pid = min(pid for pid, _, _ in samples)
    spent: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for pid, frames, count in samples:
        role = "main" if pid == main_pid else "workers"
        phases = MAIN_PHASES if role == "main" else WORKER_PHASES
        spent[f"{role}: {phase_of(frames, phases)}"] += count
        functions[f"{role}: {frames[-1]}"] += count
    return {
        "seconds": {label: round(n / RATE, 3) for label, n in spent.most_common()},
        "top_frames": {label: round(n / RATE, 3) for label, n in functions.most_common(15)},
        "workers": len({pid for pid, _, _ in samples}) - 1,
    }


def profile_import(limit: int | None) -> dict[str, Any]:
    """Sample `harvester import --no-images` of the corpus with py-spy."""
    missing, pyspy = corpus_missing(), pyspy_command()
    if missing or pyspy is None:
        return {"skipped": missing or PYSPY_MISSING}
    files = corpus_files(limit)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        out = Path(tmp) / "samples.txt"
        command = harvester_argv(
            "import", *import_args(files, limit), "--archive", f"{tmp}/archive", "--no-images"
        )
        sampler = [pyspy, "record", "--rate", str(RATE), "--subprocesses", "--format", "raw"]
        subprocess.run(
            [*sampler, "--output", str(out), "--", *command], capture_output=True, check=True
        )
        result = sampled_phases(out.read_text(encoding="utf-8"))
    result["files"] = len(files)
    result["rate"] = RATE
    return result


def profile_text(profile: dict[str, Any]) -> str:
    if "skipped" in profile:
        return f"\nprofile skipped: {profile['skipped']}"
    total = sum(profile["seconds"].values())
    lines = [
        "",
        f"where import spends its time (py-spy, {profile['rate']} samples/s, {profile['files']}"
        f" files, main process and {profile['workers']} workers; seconds of samples):",
    ]
    for label, seconds in profile["seconds"].items():
        lines.append(f"  {seconds:7.2f} s  {100 * seconds / total:5.1f}%  {label}")
    lines.append("busiest frames:")
    for frame, seconds in profile["top_frames"].items():
        lines.append(f"  {seconds:7.2f} s  {frame}")
    return "\n".join(lines)
