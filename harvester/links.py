"""WeChat article links: every form users paste, reduced to one canonical key and URL."""

from __future__ import annotations

from urllib.parse import urlencode

ARTICLE_HOST = "mp.weixin.qq.com"


def canonical_url(biz: str, mid: str, idx: str, sn: str | None) -> str:
    """The one URL we store for an article, whatever form it was found in."""
    query = {"__biz": biz, "mid": mid, "idx": idx}
    if sn:
        query["sn"] = sn
    return f"https://{ARTICLE_HOST}/s?" + urlencode(query, safe="=")


def short_url(short_id: str) -> str:
    return f"https://{ARTICLE_HOST}/s/{short_id}"
