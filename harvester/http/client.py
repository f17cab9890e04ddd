"""The one HTTP client of the program: politeness, retries and size caps, per host.

Every request the program makes goes through `HttpClient.get` (or `.post`), so the rules
WeChat cares about live in this package and nowhere else:

- only allowed hosts are fetched (`check_url`, before any network activity); redirects
  are followed by hand and each hop is checked again. A host the user's config names (a
  feed's) is allowed for that one request (`also_allow`), never for the client's others;
- each host gets its own rate limit (requests start at least 1/requests_per_second apart,
  plus random jitter) and concurrency cap, shared by all threads using the client;
- connection errors, timeouts, truncated bodies, 5xx and 429 are retried with exponential
  backoff; a Retry-After longer than the cap raises `RateLimited` (a `TryLater`);
- bodies are streamed and abandoned as soon as they exceed the size cap;
- each attempt has a total deadline, connect, headers and body together
  (`harvester.http.deadline`): one that takes longer fails and is retried like a timeout;
- requests for a relayed host go to its relay base (see `harvester.http.relay`).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode

import httpx

from harvester.http import deadline
from harvester.http.charset import decode_body
from harvester.http.errors import (
    FetchError,
    ForbiddenHost,
    ForbiddenRedirect,
    RateLimited,
    one_line,
)
from harvester.http.hosts import (
    ACCEPT,
    ACCEPT_LANGUAGE,
    DEADLINE_SECONDS,
    DEFAULT_MAX_BYTES,
    HOST_DOWN_AFTER,
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    REFERER_HOSTS,
    USER_AGENT,
    WECHAT_HOSTS,
    WECHAT_REFERER,
    Kind,
    check_url,
    format_size,
    norm_host,
)
from harvester.http.relay import relay_url, unrelay_url
from harvester.http.retry import parse_retry_after


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


class _Oversize(Exception):
    pass


class _TooSlow(Exception):
    """An attempt that was still going at its deadline."""


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
        self.unreachable = 0  # requests in a row that could not connect, retries spent


class HttpClient:
    """The program's HTTP client; thread-safe, one instance shared by all threads.

    Politeness is per original host: `requests_per_second` (None: no spacing),
    `concurrency` requests at once, `jitter` (a random fraction of the interval added
    to each gap, and to each backoff). `timeout` is (connect, read) seconds, or one
    number for both. `retries` extra attempts after the first; backoff before retry n
    is min(backoff_cap, backoff_base * 2**(n-1)) plus jitter; a 429's Retry-After is
    waited exactly when at most `retry_after_cap`. `max_bytes` caps a body (per call
    override in `get`). `deadline` is the most seconds one attempt may take in all
    (connect, headers, body), for every kind; None: DEADLINE_SECONDS per kind. `relay`
    is {host: base URL}, see `relay_from_env`.
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
        deadline: float | None = None,
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
        self.deadlines = {kind: deadline or seconds for kind, seconds in DEADLINE_SECONDS.items()}
        self.relay: dict[str, str] = {norm_host(h): b.rstrip("/") for h, b in (relay or {}).items()}
        self.host_limits = {norm_host(h): limit for h, limit in (host_limits or {}).items()}
        self.allowed_hosts = frozenset(norm_host(h) for h in allowed_hosts)
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
        self._timeouts = (connect, read)
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

    # -- counters

    def request_count(self, host: str) -> int:
        """HTTP requests sent so far for `host` (original host; retries and hops count)."""
        gate = self._gates.get(norm_host(host))
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
        also_allow: Iterable[str] = (),
    ) -> Response:
        """GET `url`, following up to 5 redirects, and return the 2xx answer.

        Raises ForbiddenHost (before any request) for a URL we may not fetch,
        ForbiddenRedirect for a redirect leaving the allowlist, RateLimited for a 429
        we will not wait out, and FetchError for everything else that failed: 4xx at
        once (with .status), 5xx / network trouble after the retries, an oversize body,
        too many redirects, or (kind="image") an HTML answer.
        `headers` are extra request headers (e.g. a Cookie for the mp backend).
        `also_allow` are hosts this request and its redirects may reach besides the
        allowlist (a feed's own host, which the user's config names).
        """
        return self._request(
            url, None, kind=kind, max_bytes=max_bytes, headers=headers, also_allow=also_allow
        )

    def post(
        self,
        url: str,
        form: Mapping[str, str],
        *,
        kind: Kind = "api",
        max_bytes: int | None = None,
        headers: Mapping[str, str] | None = None,
        also_allow: Iterable[str] = (),
    ) -> Response:
        """POST `form` url-encoded to `url` (an API that takes its batch in the body, as
        mp/getainfo does), with every rule of `get`; a redirect is followed with a GET,
        as a browser does."""
        body = urlencode(dict(form)).encode("ascii")
        return self._request(
            url, body, kind=kind, max_bytes=max_bytes, headers=headers, also_allow=also_allow
        )

    def _request(
        self,
        url: str,
        body: bytes | None,
        *,
        kind: Kind,
        max_bytes: int | None,
        headers: Mapping[str, str] | None,
        also_allow: Iterable[str],
    ) -> Response:
        if kind not in ACCEPT:
            raise ValueError(f"kind must be one of {sorted(ACCEPT)}, not {kind!r}")
        limit = self.max_bytes if max_bytes is None else max_bytes
        started = self._clock()
        current = url
        allowed = self.allowed_hosts | {norm_host(host) for host in also_allow}
        parsed = check_url(url, allowed)
        for hop in range(MAX_REDIRECTS + 1):
            answer = self._fetch(
                url, current, parsed, kind=kind, limit=limit, extra=headers, body=body
            )
            status = answer.status
            if status in REDIRECT_STATUSES and answer.headers.get("location"):
                if hop == MAX_REDIRECTS:
                    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects", status=status)
                location = self._resolve_location(parsed, answer.headers["location"])
                try:
                    parsed = check_url(location, allowed)
                except ForbiddenHost as exc:
                    raise ForbiddenRedirect(url, location, exc.reason, status=status) from None
                current, body = location, None
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
        return unrelay_url(absolute, self.relay, host=norm_host(parsed.host), scheme=parsed.scheme)

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
        headers = {"Accept": ACCEPT[kind]}
        if host in REFERER_HOSTS:
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
        body: bytes | None = None,
    ) -> _Attempt:
        """One hop with retries; returns any answer that is not retried (2xx, 3xx, 4xx).
        With a `body` the hop is a POST of a url-encoded form."""
        host = norm_host(parsed.host)
        gate = self._gate(host)
        if gate.unreachable >= HOST_DOWN_AFTER:
            raise FetchError(
                url,
                f"{host} is down: {gate.unreachable} requests in a row could not connect; "
                "not tried again this run",
                attempts=0,
            )
        target = relay_url(parsed, self.relay)
        headers = self._headers(host, parsed.scheme, kind, extra)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        seconds = self.deadlines[kind]
        attempts = self.retries + 1
        reason = ""
        status: int | None = None
        unreachable = False
        for attempt in range(1, attempts + 1):
            try:
                answer = self._attempt(host, target, headers, limit, seconds, body)
            except _Oversize:
                raise FetchError(
                    url, _at(f"body larger than {format_size(limit)}", url, hop_url)
                ) from None
            except _TooSlow:
                reason, status, unreachable = f"took longer than {seconds:g} s", None, False
                wait = self._backoff(attempt)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                reason, status = _describe(exc), None
                unreachable = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                wait = self._backoff(attempt)
            else:
                status, unreachable = answer.status, False
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
                    self._note_reachable(gate, True)
                    return answer
            if attempt < attempts:
                self._sleep(wait)
        self._note_reachable(gate, not unreachable)
        plural = "attempt" if attempts == 1 else "attempts"
        raise FetchError(
            url,
            _at(f"{reason} after {attempts} {plural}", url, hop_url),
            status=status,
            attempts=attempts,
        )

    @staticmethod
    def _note_reachable(gate: _HostGate, reachable: bool) -> None:
        """Count the requests in a row that could not connect to a host (any answer resets
        it): after HOST_DOWN_AFTER the host is down for this client, and the rest of its
        requests fail at once instead of each waiting out its retries."""
        with gate.lock:
            gate.unreachable = 0 if reachable else gate.unreachable + 1

    def _attempt(
        self,
        host: str,
        target: str,
        headers: Mapping[str, str],
        limit: int,
        seconds: float,
        body: bytes | None,
    ) -> _Attempt:
        """One request (a POST of `body` when there is one), at most `seconds` from its
        connect to its last byte (_TooSlow)."""
        gate = self._gate(host)
        with gate.semaphore:
            self._wait_turn(gate)
            with gate.lock:
                gate.count += 1
            connect, read = self._timeouts
            request = self._client.build_request(
                "GET" if body is None else "POST",
                target,
                headers=headers,
                content=body,
                timeout=httpx.Timeout(read, connect=min(connect, seconds)),
                extensions={"trace": deadline.trace},
            )
            with deadline.deadline(seconds):
                try:
                    return self._exchange(request, limit)
                except httpx.TimeoutException:
                    if deadline.passed():
                        raise _TooSlow from None
                    raise

    def _exchange(self, request: httpx.Request, limit: int) -> _Attempt:
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
                if deadline.passed():  # a body trickled in: never wait for its end
                    raise _TooSlow
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
    detail = one_line(str(exc))
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
