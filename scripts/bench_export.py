"""Export part of scripts/bench.py: the peak memory of `export warc`, `wacz` and `epub`.

A synthetic archive of one account (scripts/synth_archive.py's articles) where every
article has what the exports read: its raw capture (half of them with the HTTP answer
recorded, as fetched; half without, as imported), its Markdown body in the index, and two
stored images (from a pool of distinct small PNGs, each at the article's own URL). Each
export runs as the real command in its own process; its peak RSS (os.wait4) must stay
under 200 MB at 10,000 articles. The baseline is the same export of the first tenth of the
archive, measured before the rest is added: a flat ratio shows memory does not grow with
the archive.
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench_util import PartResult, Row, run_measured
from PIL import Image
from synth_archive import TextModel

from archive.files import store_image, store_raw
from archive.index import (
    ImageEntry,
    open_index,
    record_capture_response,
    save_article,
    save_images,
)
from archive.names import article_relpath
from harvester.model import Page

ACCOUNT = "基准账号"
IMAGE_POOL = 50
IMAGES_PER_ARTICLE = 2
PEAK_TARGET_MB = 200.0
TARGET_AT = 10_000
BATCH = 500
HEADERS = [("content-type", "text/html; charset=UTF-8"), ("server", "nginx")]


def image_pool(root: Path) -> list[Any]:
    stored = []
    for n in range(IMAGE_POOL):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (n * 5 % 256, 90, 160)).save(buffer, format="PNG")
        stored.append(store_image(root, buffer.getvalue()))
    return stored


def build(root: Path, model: TextModel, start: int, stop: int) -> None:
    """Articles start..stop-1 of `model`, all of one account, with what exports read."""
    db = open_index(root / "archive.db")
    pool = image_pool(root)
    try:
        for i in range(start, stop):
            if (i - start) % BATCH == 0:
                db.conn.execute("BEGIN IMMEDIATE")
            art = model.article(i)
            md_path = article_relpath(ACCOUNT, art.published_at, art.title, art.key)
            folder = (root / md_path).parent
            images = [pool[(i + n) % IMAGE_POOL] for n in range(IMAGES_PER_ARTICLE)]
            urls = [f"https://mmbiz.qpic.cn/mmbiz_png/bench{i}_{n}/640" for n in range(2)]
            local = [os.path.relpath(root / image.relpath, folder) for image in images]
            body = art.markdown() + "".join(f"\n\n![]({path})\n" for path in local)
            raw = f"<html><body><h1>{art.title}</h1>{body}</body></html>".encode()
            raw_path = store_raw(root, art.biz, art.mid, art.idx, art.fetched_at, raw)
            page = Page(
                kind="article",
                title=art.title,
                account=ACCOUNT,
                published_at=art.published_at,
                url=art.url,
                biz=art.biz,
                mid=art.mid,
                idx=art.idx,
                sn=art.sn,
            )
            with db.atomic():
                save_article(
                    db,
                    page,
                    key=art.key,
                    md_path=md_path,
                    content_hash=str(i),
                    body_text=body,
                    raw_path=raw_path,
                    fetched_at=art.fetched_at,
                )
                entries = [ImageEntry(n, urls[n], image=image) for n, image in enumerate(images)]
                save_images(db, art.key, entries)
                if i % 2 == 0:
                    record_capture_response(
                        db,
                        raw_path,
                        url=art.url,
                        status=200,
                        headers=HEADERS,
                        at=art.fetched_at,
                    )
            if (i - start) % BATCH == BATCH - 1 or i == stop - 1:
                db.conn.execute("COMMIT")
    finally:
        if db.conn.in_transaction:
            db.conn.execute("COMMIT")
        db.close()


EXPORTS = {
    "warc": ("wechat.warc.gz", ["--account", ACCOUNT]),
    "wacz": ("wechat.wacz", ["--account", ACCOUNT]),
    "epub": ("wechat.epub", ["--account", ACCOUNT]),
}


# The command as a subprocess that writes its own peak RSS (VmHWM) to a file as it exits:
# os.wait4's ru_maxrss of a child keeps the high-water mark of the process it was forked
# from (Linux carries it across exec), here the benchmark's own 60 MB, which would hide
# the export's.
PEAK_WRITER = (
    "import atexit, sys\n"
    "def peak():\n"
    "    with open('/proc/self/status') as status, open({path!r}, 'w') as out:\n"
    "        out.write(next(l for l in status if l.startswith('VmHWM:')).split()[1])\n"
    "atexit.register(peak)\n"
    "from harvester.cli import main\n"
    "main()\n"
)


def measure(root: Path, out_dir: Path, log) -> dict[str, dict[str, float]]:
    found = {}
    for kind, (name, options) in EXPORTS.items():
        out, peak_file = out_dir / name, out_dir / f"{kind}.peak"
        code = PEAK_WRITER.format(path=str(peak_file))
        args = ["export", kind, str(out), "--archive", str(root), *options]
        done = run_measured([sys.executable, "-c", code, *args])
        if done.returncode != 0:
            raise RuntimeError(f"export {kind} exited {done.returncode}: {done.tail()}")
        peak_mb = int(peak_file.read_text()) / 1024.0
        found[kind] = {
            "peak_rss_mb": round(peak_mb, 1),
            "ru_maxrss_mb": round(done.peak_rss_mb, 1),
            "seconds": round(done.seconds, 2),
            "bytes": out.stat().st_size,
            "summary": done.stdout.strip(),
        }
        log(f"export: {kind}: {done.stdout.strip()} (peak RSS {peak_mb:.1f} MB)")
    return found


def export_part(work: Path, *, articles: int, log) -> PartResult:
    part = PartResult("export")
    root = work / "export-archive"
    model = TextModel()
    small = max(10, articles // 10)
    started = time.perf_counter()
    build(root, model, 0, small)
    (work / "export-small").mkdir(exist_ok=True)
    baseline = measure(root, work / "export-small", log)
    build(root, model, small, articles)
    log(f"export: built {articles} articles in {time.perf_counter() - started:.0f} s")
    (work / "export-full").mkdir(exist_ok=True)
    full = measure(root, work / "export-full", log)
    part.details = {"articles": articles, "baseline_articles": small, "small": baseline}
    part.details["full"] = full
    judged = articles >= TARGET_AT
    for kind in EXPORTS:
        peak, base = full[kind]["peak_rss_mb"], baseline[kind]["peak_rss_mb"]
        part.rows.append(
            Row(
                f"export.{kind}_peak",
                "export",
                f"peak RSS, harvester export {kind} of {articles:,} articles",
                peak,
                "MB",
                base,
                f"the same export of {small:,}",
                peak / base if base else None,
                f"< {PEAK_TARGET_MB:.0f} MB",
                peak < PEAK_TARGET_MB if judged else None,
                f"{articles:,}: {full[kind]['seconds']:.1f} s, "
                f"{full[kind]['bytes'] / 1e6:.1f} MB written",
            )
        )
    return part
