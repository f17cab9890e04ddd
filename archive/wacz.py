"""`harvester export wacz`: the WARC export packaged as WACZ (py-wacz), for ReplayWeb.page.

The WARC is written as `export warc` writes it, into a folder beside the output, with a
page list (pages/pages.jsonl: every capture of an article, its title and time); py-wacz then
indexes the WARC and packages both with their index, datapackage.json and its digest.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

from archive.errors import InputError
from archive.warc import Selection, WarcSummary, describe, open_selection, write_records

PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Articles"}


def export_wacz(root: Path, out: Path, selection: Selection) -> WarcSummary:
    """Write the WACZ at `out` (replaced whole, or left as it was on failure)."""
    from wacz.main import main as wacz_main

    db = open_selection(root, selection)
    try:
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as work:
            folder = Path(work)
            warc, pages = folder / "data.warc.gz", folder / "pages.jsonl"
            with warc.open("wb") as handle, pages.open("w", encoding="utf-8") as listed:
                listed.write(json.dumps(PAGES_HEADER) + "\n")

                def page(url: str, date: str, title: str | None) -> None:
                    entry = {"url": url, "ts": date, "title": title or url}
                    listed.write(json.dumps(entry, ensure_ascii=False) + "\n")

                summary = write_records(root, db, selection, handle, warc.name, page)
            made = folder / "made.wacz"
            arguments = ["create", "-o", str(made), str(warc), "-p", str(pages), "--copy-pages"]
            arguments += ["--title", f"WeChat articles from {root.name}"]
            chatter = io.StringIO()  # py-wacz prints its progress on stdout
            with contextlib.redirect_stdout(chatter):
                failed = wacz_main(arguments)
            if failed:
                raise InputError(f"{out}: py-wacz could not package it: {chatter.getvalue()}")
            os.replace(made, out)  # the same folder: whole or not at all
    except OSError as error:
        raise InputError(f"{out}: cannot write: {describe(error)}") from None
    finally:
        db.close()
    return summary
