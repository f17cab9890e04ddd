"""The export manifest: which article pages and images an export wrote.

`.wechat-archive-export.json` at the top of the site lists every article file and image
an export wrote; only those are ever removed (when gone from the archive), so a user's
own pages and images are never touched. Entries outside content/posts/ and
static/images/ are ignored when the manifest is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from archive.files import write_atomic
from archive.hugo_site import STATIC_IMAGES, inside_site
from archive.names import CONTENT_DIR

MANIFEST_NAME = ".wechat-archive-export.json"
MANIFEST_VERSION = 1
_MANIFEST_PATH = re.compile(r"^(?:content/posts|static/images)/[^\x00\\]+$")


def read_manifest(site: Path) -> tuple[dict[str, str], set[str]]:
    """(article key -> page relpath, image relpaths) from the last export; empty if none."""
    path = site / MANIFEST_NAME
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}, set()
    if not isinstance(data, dict):
        return {}, set()
    pages = data.get("articles") if isinstance(data.get("articles"), dict) else {}
    images = data.get("images") if isinstance(data.get("images"), list) else []
    return (
        {
            str(k): v
            for k, v in pages.items()
            if isinstance(v, str) and v.startswith(CONTENT_DIR + "/") and _MANIFEST_PATH.match(v)
        },
        {
            v
            for v in images
            if isinstance(v, str) and v.startswith(STATIC_IMAGES + "/") and _MANIFEST_PATH.match(v)
        },
    )


def write_manifest(site: Path, pages: Mapping[str, str], images: set[str]) -> None:
    data = {
        "generator": "wechat-archive: harvester export hugo",
        "version": MANIFEST_VERSION,
        "articles": dict(sorted(pages.items())),
        "images": sorted(images),
    }
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    write_atomic(inside_site(site, MANIFEST_NAME), text.encode("utf-8"))
