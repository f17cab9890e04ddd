"""The one HTTP client of the program: politeness, retries, size caps, host allowlist, relay.

Every request the program makes goes through `HttpClient.get`, so the rules WeChat cares
about live here and nowhere else:

- only http(s) URLs of WeChat hosts are fetched (`ForbiddenHost` before any network
  activity); redirects are followed by hand and each hop is checked again;
- each host gets its own rate limit (requests start at least 1/requests_per_second apart,
  plus random jitter) and concurrency cap, shared by all threads using the client;
- connection errors, timeouts, truncated bodies, 5xx and 429 are retried with exponential
  backoff; a Retry-After longer than the cap raises `RateLimited` (a `TryLater`);
- bodies are streamed and abandoned as soon as they exceed the size cap;
- `HARVESTER_RELAY` sends a host's requests to another base URL (a caching relay, or the
  fake WeChat of the tests) with the original host in `X-Forwarded-Host`; everything the
  caller sees (allowlist, counters, `final_url`) stays in terms of the original host.

The helpers for relay mapping, Retry-After and charsets are pure functions, tested alone.
"""

from __future__ import annotations

import codecs
import email.utils
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from functools import cached_property
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Literal

import httpx

from harvester.errors import InputError, TryLater

__all__ = [
    "ARTICLE_HOST",
    "DEFAULT_MAX_BYTES",
    "MAX_REDIRECTS",
    "RELAY_ENV",
    "USER_AGENT",
    "WECHAT_HOSTS",
    "WECHAT_REFERER",
    "FetchError",
    "ForbiddenHost",
    "ForbiddenRedirect",
    "HttpClient",
    "Kind",
    "RateLimited",
    "Response",
    "check_url",
    "declared_charset",
    "decode_body",
    "format_size",
    "parse_relay",
    "parse_retry_after",
    "relay_from_env",
    "relay_url",
    "sniff_charset",
    "unrelay_url",
]

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
_REFERER_HOSTS = WECHAT_HOSTS - {ARTICLE_HOST}
# A current desktop Chrome on Windows (Chrome's reduced UA string: minor versions are zeros).
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
)
ACCEPT_LANGUAGE = "zh-CN,zh;q=0.9,en;q=0.8"
RELAY_ENV = "HARVESTER_RELAY"

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MB
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

Kind = Literal["page", "image", "api"]
_ACCEPT: dict[str, str] = {
    "page": (
        "text/html,application/xhtml+xml,application/xml;q=0.9,"
        "image/avif,image/webp,image/apng,*/*;q=0.8"
    ),
    "image": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "api": "application/json, text/javascript, */*; q=0.01",
}


# --------------------------------------------------------------------------- errors


class ForbiddenHost(InputError):
    """A URL we will not fetch: not http(s), or its host is not an allowed WeChat host."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(_one_line(f"{url}: {reason}"))


class FetchError(Exception):
    """A fetch that failed for good: one line naming the URL and what went wrong.

    `status` is the HTTP status when there was one (404, 500, …), else None;
    `attempts` is how many requests were made for the hop that failed.
    """

    def __init__(
        self, url: str, reason: str, *, status: int | None = None, attempts: int = 1
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.attempts = attempts
        super().__init__(_one_line(f"{url}: {reason}"))


class ForbiddenRedirect(FetchError):
    """A redirect pointing outside the allowlist (or to a non-http scheme); not followed."""

    def __init__(self, url: str, location: str, reason: str, *, status: int) -> None:
        self.location = location
        super().__init__(url, f"redirected to {location}, refused: {reason}", status=status)


class RateLimited(TryLater):
    """HTTP 429 with a wait we will not sit through (or 429 on every attempt).

    `retry_after` is the wait the server asked for, in seconds (None if it named none);
    `retry_at` the same as a Unix time.
    """

    def __init__(self, url: str, retry_after: float | None, retry_at: float | None) -> None:
        self.url = url
        self.retry_after = retry_after
        self.retry_at = retry_at
        if retry_after is None:
            what = "rate limited (HTTP 429 on every attempt)"
        else:
            what = f"rate limited (HTTP 429), retry after {retry_after:.0f} s"
        super().__init__(_one_line(f"{url}: {what}"))


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- pure helpers


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
    host = _norm_host(parsed.host)
    if not host:
        raise ForbiddenHost(url, "no host")
    if host not in {_norm_host(h) for h in allowed_hosts}:
        raise ForbiddenHost(url, f"host {host!r} is not an allowed WeChat host")
    return parsed


def _norm_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


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
        if problem is None and _norm_host(host) in relay:
            problem = "host named twice"
        if problem:
            raise InputError(f"{RELAY_ENV}: bad entry {part!r}: {problem}")
        relay[_norm_host(host)] = base.rstrip("/")
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
    base = relay.get(_norm_host(parsed.host))
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
            preferred = 1 if host is not None and name == _norm_host(host) else 0
            candidates.append((preferred, len(base), name, mapped))
    if not candidates:
        return str(parsed)
    _, _, name, rest = max(candidates)
    use_scheme = scheme if host is not None and name == _norm_host(host) else "https"
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


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After value (delta seconds or HTTP date), or None.

    `now` is the current Unix time (for dates); a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([^"';,\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_SNIFF_BYTES = 16384
# Labels browsers decode with a wider codec than Python's of the same name.
_WIDER_CODEC = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ascii": "cp1252",
    "latin_1": "cp1252",
    "iso8859-1": "cp1252",
}


def _codec(label: str) -> str | None:
    label = label.strip().strip("\"'").lower()
    if label in ("x-gbk", "gb_2312-80", "csgb2312", "chinese"):
        label = "gbk"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _WIDER_CODEC.get(name, name)


def declared_charset(content_type: str | None) -> str | None:
    """The Python codec named by a Content-Type's charset parameter, if any and known."""
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type)
    return _codec(match.group(1)) if match else None


def sniff_charset(content: bytes) -> str | None:
    """The codec named by `<meta charset>` or `<meta http-equiv … charset=…>` near the top."""
    match = _META_CHARSET.search(content[:_SNIFF_BYTES])
    return _codec(match.group(1).decode("ascii")) if match else None


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_body(content: bytes, content_type: str | None) -> str:
    """Text of a body: BOM, else declared charset, else `<meta>` charset, else UTF-8.

    Undecodable bytes become U+FFFD rather than failing.
    """
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(codec, errors="replace")
    codec = declared_charset(content_type) or sniff_charset(content) or "utf-8"
    return content.decode(codec, errors="replace")


def format_size(n: int) -> str:
    """`20 MB`, `1.5 MB` or `1000 bytes` (MB = 2**20 bytes)."""
    if n >= MB:
        return f"{n // MB} MB" if n % MB == 0 else f"{n / MB:.1f} MB"
    return f"{n} bytes"


# --------------------------------------------------------------------------- response


@dataclass(frozen=True)
class Response:
    """A successful (2xx) answer, body read in full.

    `url` is what the caller asked for, `final_url` where redirects ended, both in
    terms of the original hosts (never the relay's); `elapsed` is the seconds spent in
    `get()` (redirects, retries and politeness waits included).
    """

    url: str
    final_url: str
    status: int
    headers: httpx.Headers
    content: bytes
    elapsed: float

    @cached_property
    def text(self) -> str:
        return decode_body(self.content, self.headers.get("content-type"))

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case ('' when absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.text)


# --------------------------------------------------------------------------- client


class _Oversize(Exception):
    pass


@dataclass
class _Attempt:
    status: int
    headers: httpx.Headers
    content: bytes


class _HostGate:
    """Per-host politeness state: concurrency semaphore, next allowed start, counter."""

    def __init__(self, concurrency: int, requests_per_second: float | None) -> None:
        self.requests_per_second = requests_per_second
        self.semaphore = threading.BoundedSemaphore(concurrency)
        self.lock = threading.Lock()
        self.next_start: float | None = None
        self.count = 0


class HttpClient:
    """The program's HTTP client; thread-safe, one instance shared by all threads.

    Politeness is per original host: `requests_per_second` (None: no spacing),
    `concurrency` requests at once, `jitter` (a random fraction of the interval added
    to each gap, and to each backoff). `timeout` is (connect, read) seconds, or one
    number for both. `retries` extra attempts after the first; backoff before retry n
    is min(backoff_cap, backoff_base * 2**(n-1)) plus jitter; a 429's Retry-After is
    waited exactly when at most `retry_after_cap`. `max_bytes` caps a body (per call
    override in `get`). `relay` is {host: base URL}, see `relay_from_env`.
    `host_limits` is {host: (requests_per_second, concurrency)} for hosts that take
    other limits than the default (image CDNs bear far more than the article host).
    `sleep`, `clock` (monotonic), `wall_clock` (Unix time), `rng` (has .random())
    and `transport` (an httpx transport) are for tests.

    No cookies are kept between requests.
    """

    def __init__(
        self,
        *,
        requests_per_second: float | None = 0.5,
        concurrency: int = 2,
        jitter: float = 0.3,
        timeout: float | tuple[float, float] = (10.0, 30.0),
        retries: int = 3,
        max_bytes: int = DEFAULT_MAX_BYTES,
        relay: Mapping[str, str] | None = None,
        host_limits: Mapping[str, tuple[float | None, int]] | None = None,
        allowed_hosts: Iterable[str] = WECHAT_HOSTS,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        retry_after_cap: float = 120.0,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Any = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if requests_per_second is not None and requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive (or None for no limit)")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.requests_per_second = requests_per_second
        self.concurrency = concurrency
        self.jitter = max(0.0, jitter)
        self.retries = retries
        self.max_bytes = max_bytes
        self.relay: dict[str, str] = {
            _norm_host(h): b.rstrip("/") for h, b in (relay or {}).items()
        }
        self.host_limits = {_norm_host(h): limit for h, limit in (host_limits or {}).items()}
        self.allowed_hosts = frozenset(_norm_host(h) for h in allowed_hosts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.user_agent = user_agent
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng if rng is not None else random.Random()
        self._rng_lock = threading.Lock()
        self._gates: dict[str, _HostGate] = {}
        self._gates_lock = threading.Lock()
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        self._client = httpx.Client(
            timeout=httpx.Timeout(read, connect=connect),
            follow_redirects=False,
            trust_env=False,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            headers={"User-Agent": user_agent, "Accept-Language": ACCEPT_LANGUAGE},
            transport=transport,
        )

    # -- lifecycle

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- allowlist

    def allow_host(self, host: str) -> None:
        """Also fetch from `host` (a host the user's config names, e.g. an RSS bridge)."""
        with self._gates_lock:
            self.allowed_hosts = self.allowed_hosts | {_norm_host(host)}

    # -- counters

    def request_count(self, host: str) -> int:
        """HTTP requests sent so far for `host` (original host; retries and hops count)."""
        gate = self._gates.get(_norm_host(host))
        return gate.count if gate else 0

    def request_counts(self) -> dict[str, int]:
        with self._gates_lock:
            return {host: gate.count for host, gate in self._gates.items()}

    # -- the one public verb

    def get(
        self,
        url: str,
        *,
        kind: Kind = "page",
        max_bytes: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """GET `url`, following up to 5 redirects, and return the 2xx answer.

        Raises ForbiddenHost (before any request) for a URL we may not fetch,
        ForbiddenRedirect for a redirect leaving the allowlist, RateLimited for a 429
        we will not wait out, and FetchError for everything else that failed: 4xx at
        once (with .status), 5xx / network trouble after the retries, an oversize body,
        too many redirects, or (kind="image") an HTML answer.
        `headers` are extra request headers (e.g. a Cookie for the mp backend).
        """
        if kind not in _ACCEPT:
            raise ValueError(f"kind must be one of {sorted(_ACCEPT)}, not {kind!r}")
        limit = self.max_bytes if max_bytes is None else max_bytes
        started = self._clock()
        current = url
        parsed = check_url(url, self.allowed_hosts)
        for hop in range(MAX_REDIRECTS + 1):
            answer = self._fetch(url, current, parsed, kind=kind, limit=limit, extra=headers)
            status = answer.status
            if status in REDIRECT_STATUSES and answer.headers.get("location"):
                if hop == MAX_REDIRECTS:
                    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects", status=status)
                location = self._resolve_location(parsed, answer.headers["location"])
                try:
                    parsed = check_url(location, self.allowed_hosts)
                except ForbiddenHost as exc:
                    raise ForbiddenRedirect(url, location, exc.reason, status=status) from None
                current = location
                continue
            if not 200 <= status < 300:
                raise FetchError(url, _at(f"HTTP {status}", url, current), status=status)
            if kind == "image" and _looks_like_html(answer):
                ctype = answer.headers.get("content-type") or "HTML"
                raise FetchError(
                    url, _at(f"expected an image, got {ctype}", url, current), status=status
                )
            return Response(
                url=url,
                final_url=current,
                status=status,
                headers=answer.headers,
                content=answer.content,
                elapsed=self._clock() - started,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    # -- internals

    def _resolve_location(self, parsed: httpx.URL, location: str) -> str:
        """A redirect's target in original-host terms.

        A relative Location is resolved against the original URL (a relay is
        transparent, so it passes WeChat's own relative redirects through); an absolute
        one pointing at a relay base is mapped back to the host it stands for.
        """
        absolute = parsed.join(location.strip())
        if not self.relay:
            return str(absolute)
        return unrelay_url(absolute, self.relay, host=_norm_host(parsed.host), scheme=parsed.scheme)

    def _gate(self, host: str) -> _HostGate:
        with self._gates_lock:
            gate = self._gates.get(host)
            if gate is None:
                rate, concurrency = self.host_limits.get(
                    host, (self.requests_per_second, self.concurrency)
                )
                gate = self._gates[host] = _HostGate(concurrency, rate)
            return gate

    def _random(self) -> float:
        with self._rng_lock:
            return float(self._rng.random())

    def _wait_turn(self, gate: _HostGate) -> None:
        """Reserve the next start slot for this host and sleep until it comes."""
        if gate.requests_per_second is None:
            return
        interval = 1.0 / gate.requests_per_second
        with gate.lock:
            now = self._clock()
            start = now if gate.next_start is None else max(now, gate.next_start)
            gate.next_start = start + interval * (1.0 + self.jitter * self._random())
        if start > now:
            self._sleep(start - now)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return delay * (1.0 + self.jitter * self._random())

    def _headers(self, host: str, scheme: str, kind: str, extra: Mapping[str, str] | None):
        headers = {"Accept": _ACCEPT[kind]}
        if host in _REFERER_HOSTS:
            headers["Referer"] = WECHAT_REFERER
        if kind == "api":
            headers["X-Requested-With"] = "XMLHttpRequest"
        if host in self.relay:
            headers["X-Forwarded-Host"] = host
            headers["X-Forwarded-Proto"] = scheme
        headers.update(extra or {})
        return headers

    def _fetch(
        self,
        url: str,
        hop_url: str,
        parsed: httpx.URL,
        *,
        kind: str,
        limit: int,
        extra: Mapping[str, str] | None,
    ) -> _Attempt:
        """One hop with retries; returns any answer that is not retried (2xx, 3xx, 4xx)."""
        host = _norm_host(parsed.host)
        target = relay_url(parsed, self.relay)
        headers = self._headers(host, parsed.scheme, kind, extra)
        attempts = self.retries + 1
        reason = ""
        status: int | None = None
        for attempt in range(1, attempts + 1):
            try:
                answer = self._attempt(host, target, headers, limit)
            except _Oversize:
                raise FetchError(
                    url, _at(f"body larger than {format_size(limit)}", url, hop_url)
                ) from None
            except (httpx.TransportError, httpx.DecodingError) as exc:
                reason, status = _describe(exc), None
                wait = self._backoff(attempt)
            else:
                status = answer.status
                if status == 429:
                    retry_after = parse_retry_after(
                        answer.headers.get("retry-after"), now=self._wall_clock()
                    )
                    if retry_after is not None and retry_after > self.retry_after_cap:
                        raise RateLimited(url, retry_after, self._wall_clock() + retry_after)
                    if attempt == attempts:
                        at = None if retry_after is None else self._wall_clock() + retry_after
                        raise RateLimited(url, retry_after, at)
                    reason = "HTTP 429"
                    wait = retry_after if retry_after is not None else self._backoff(attempt)
                elif status >= 500:
                    reason = f"HTTP {status}"
                    wait = self._backoff(attempt)
                else:
                    return answer
            if attempt < attempts:
                self._sleep(wait)
        plural = "attempt" if attempts == 1 else "attempts"
        raise FetchError(
            url,
            _at(f"{reason} after {attempts} {plural}", url, hop_url),
            status=status,
            attempts=attempts,
        )

    def _attempt(self, host: str, target: str, headers: Mapping[str, str], limit: int) -> _Attempt:
        gate = self._gate(host)
        with gate.semaphore:
            self._wait_turn(gate)
            with gate.lock:
                gate.count += 1
            request = self._client.build_request("GET", target, headers=headers)
            response = self._client.send(request, stream=True)
            try:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise _Oversize
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise _Oversize
            finally:
                response.close()
            return _Attempt(response.status_code, response.headers, bytes(body))


def _at(reason: str, url: str, hop_url: str) -> str:
    """Name the redirect hop in a message when it is not the URL asked for."""
    return reason if hop_url == url else f"{reason} (at {hop_url})"


def _looks_like_html(answer: _Attempt) -> bool:
    ctype = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype.startswith("text/") or ctype in ("application/json", "application/xhtml+xml"):
        return True
    head = answer.content[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _describe(exc: Exception) -> str:
    """A short phrase for a transport failure."""
    detail = _one_line(str(exc))
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timed out"
    if isinstance(exc, httpx.ReadTimeout):
        return "read timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        if "refused" in detail.lower():
            return "connection refused"
        return f"cannot connect ({detail})" if detail else "cannot connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        if "without sending a response" in detail:
            return "server closed the connection without answering"
        if "complete message body" in detail or "incomplete" in detail.lower():
            return f"body truncated ({detail})"
        return f"protocol error ({detail})"
    if isinstance(exc, httpx.ReadError):
        return f"connection broken while reading ({detail})" if detail else "read error"
    if isinstance(exc, httpx.DecodingError):
        return f"body could not be decoded ({detail})"
    return f"{type(exc).__name__} ({detail})" if detail else type(exc).__name__
