"""`HARVESTER_RELAY`: sending a host's requests to another base URL.

The relay is a caching proxy, or the fake WeChat of the tests. Requests for a relayed
host go to its base URL with the original host in `X-Forwarded-Host`; everything the
caller sees (allowlist, counters, `final_url`) stays in terms of the original host, so
absolute URLs that point at a relay base are mapped back with `unrelay_url`.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from harvester.errors import InputError
from harvester.http.hosts import norm_host

RELAY_ENV = "HARVESTER_RELAY"


def parse_relay(value: str) -> dict[str, str]:
    """Parse `host=http://addr:port,host2=http://…` into {host: base URL}.

    Empty items are skipped; a malformed item raises InputError naming it.
    """
    relay: dict[str, str] = {}
    for raw in value.split(","):
        part = raw.strip()
        if not part:
            continue
        host, sep, base = (s.strip() for s in part.partition("="))
        problem = None
        if not sep:
            problem = "expected host=http://address:port"
        elif not host or any(c in host for c in "/:@?# "):
            problem = "the part before '=' must be a bare host name such as mp.weixin.qq.com"
        else:
            problem = _relay_base_problem(base)
        if problem is None and norm_host(host) in relay:
            problem = "host named twice"
        if problem:
            raise InputError(f"{RELAY_ENV}: bad entry {part!r}: {problem}")
        relay[norm_host(host)] = base.rstrip("/")
    return relay


def _relay_base_problem(base: str) -> str | None:
    try:
        parsed = httpx.URL(base)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"relay base is not a URL ({exc})"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "relay base must be an http:// or https:// URL with a host"
    if parsed.query or parsed.fragment or parsed.userinfo:
        return "relay base must not have a query, fragment or credentials"
    return None


def relay_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The relay named by HARVESTER_RELAY in `environ` ({} when unset or empty)."""
    return parse_relay(environ.get(RELAY_ENV, "") or "")


def relay_url(url: str | httpx.URL, relay: Mapping[str, str]) -> str:
    """Where a request for `url` really goes: relay base + path + query, or `url` itself."""
    parsed = httpx.URL(url) if not isinstance(url, httpx.URL) else url
    base = relay.get(norm_host(parsed.host))
    if base is None:
        return str(parsed)
    return base.rstrip("/") + parsed.raw_path.decode("ascii")


def unrelay_url(
    url: str | httpx.URL,
    relay: Mapping[str, str],
    *,
    host: str | None = None,
    scheme: str = "https",
) -> str:
    """Map an absolute URL that points at a relay base back to the original host.

    `host` is the original host of the request that produced `url` (a redirect's
    Location): when several hosts share one relay base, a URL at that base means the
    same host. Other relay bases map to their own host (the longest base path wins);
    a URL at no relay base (for instance the real https://mp.weixin.qq.com/…) is
    returned as is. Mapped URLs get `scheme` for `host` and https for other hosts.
    """
    parsed = httpx.URL(url) if not isinstance(url, httpx.URL) else url
    candidates: list[tuple[int, int, str, str]] = []
    for name, base in relay.items():
        mapped = _strip_base(parsed, base)
        if mapped is not None:
            preferred = 1 if host is not None and name == norm_host(host) else 0
            candidates.append((preferred, len(base), name, mapped))
    if not candidates:
        return str(parsed)
    _, _, name, rest = max(candidates)
    use_scheme = scheme if host is not None and name == norm_host(host) else "https"
    return f"{use_scheme}://{name}{rest}"


def _strip_base(url: httpx.URL, base: str) -> str | None:
    """The path + query of `url` below relay `base`, or None if `url` is not under it."""
    b = httpx.URL(base)
    if (url.scheme, url.host, url.port) != (b.scheme, b.host, b.port):
        return None
    prefix = b.raw_path.decode("ascii").split("?")[0].rstrip("/")
    rest = url.raw_path.decode("ascii")
    if not prefix:
        return rest
    if rest == prefix or rest.startswith((prefix + "/", prefix + "?")):
        rest = rest[len(prefix) :]
        return rest if rest.startswith("/") else "/" + rest
    return None
