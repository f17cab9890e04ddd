"""Which hosts the program fetches from, how it presents itself to them, and its limits.

Only http(s) URLs of WeChat hosts are fetched: `check_url` raises `ForbiddenHost` before
any network activity, and the client checks every redirect hop with it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import httpx

from harvester.http.errors import ForbiddenHost

ARTICLE_HOST = "mp.weixin.qq.com"
WECHAT_HOSTS = frozenset(
    {
        "mp.weixin.qq.com",
        "mmbiz.qpic.cn",
        "mmbiz.qlogo.cn",
        "mmecoa.qpic.cn",
        "res.wx.qq.com",
        "mpvideo.qpic.cn",
    }
)
IMAGE_HOSTS = WECHAT_HOSTS - {"mp.weixin.qq.com"}
# Image CDNs bear far more than the article host, which is what verification guards.
IMAGE_HOST_RATE = 8.0
IMAGE_HOST_CONCURRENCY = 4
# mmbiz answers a foreign Referer with a "not allowed" placeholder image: WeChat's other
# hosts get this one; mp.weixin.qq.com itself and non-WeChat hosts get none.
WECHAT_REFERER = "https://mp.weixin.qq.com/"
REFERER_HOSTS = WECHAT_HOSTS - {ARTICLE_HOST}
# A current desktop Chrome on Windows (Chrome's reduced UA string: minor versions are zeros).
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
)
ACCEPT_LANGUAGE = "zh-CN,zh;q=0.9,en;q=0.8"

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MB
MAX_REDIRECTS = 5
# A host that could not be connected to this many requests in a row (each after its
# retries) is down for the rest of the run: its other requests fail at once.
HOST_DOWN_AFTER = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# The most one request may take, connect, headers and body together (each attempt; an
# image may be up to DEFAULT_MAX_BYTES, so it gets longer).
DEADLINE_SECONDS: dict[str, float] = {"page": 60.0, "api": 60.0, "image": 120.0}

Kind = Literal["page", "image", "api"]
ACCEPT: dict[str, str] = {
    "page": (
        "text/html,application/xhtml+xml,application/xml;q=0.9,"
        "image/avif,image/webp,image/apng,*/*;q=0.8"
    ),
    "image": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "api": "application/json, text/javascript, */*; q=0.01",
}


def check_url(url: str, allowed_hosts: Iterable[str] = WECHAT_HOSTS) -> httpx.URL:
    """Parse `url` and return it if we may fetch it; raise ForbiddenHost otherwise.

    The check is made on what httpx will actually send: scheme http or https, no
    credentials, and a host exactly in `allowed_hosts` (case and a trailing dot ignored).
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ForbiddenHost(str(url), f"not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        if not parsed.scheme:
            raise ForbiddenHost(url, "not an absolute http(s) URL")
        raise ForbiddenHost(url, f"scheme {parsed.scheme!r} refused (only http and https)")
    if parsed.userinfo:
        raise ForbiddenHost(url, "credentials in a URL are refused")
    host = norm_host(parsed.host)
    if not host:
        raise ForbiddenHost(url, "no host")
    if host not in {norm_host(h) for h in allowed_hosts}:
        raise ForbiddenHost(url, f"host {host!r} is not an allowed WeChat host")
    return parsed


def norm_host(host: str) -> str:
    """A host as the allowlist, the relay and the per-host counters key it."""
    return host.strip().rstrip(".").lower()


def format_size(n: int) -> str:
    """`20 MB`, `1.5 MB` or `1000 bytes` (MB = 2**20 bytes)."""
    if n >= MB:
        return f"{n // MB} MB" if n % MB == 0 else f"{n / MB:.1f} MB"
    return f"{n} bytes"
