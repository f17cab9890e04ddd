"""The one HTTP client of the program: politeness, retries, size caps, host allowlist, relay.

Every request the program makes goes through `HttpClient.get`. The package is split by
job: `hosts` (the allowlist, request headers, limits, `check_url`), `errors` (what a
fetch fails with), `relay` (`HARVESTER_RELAY` mapping), `retry` (Retry-After), `charset`
(decoding bodies) and `client` (`HttpClient`, `Response`). The helpers for relay
mapping, Retry-After and charsets are pure functions, tested alone. Callers import
everything from `harvester.http`.
"""

from __future__ import annotations

from harvester.http.charset import declared_charset, decode_body, sniff_charset
from harvester.http.client import HttpClient, Response
from harvester.http.errors import FetchError, ForbiddenHost, ForbiddenRedirect, RateLimited
from harvester.http.hosts import (
    ARTICLE_HOST,
    DEFAULT_MAX_BYTES,
    IMAGE_HOST_CONCURRENCY,
    IMAGE_HOST_RATE,
    IMAGE_HOSTS,
    MAX_REDIRECTS,
    USER_AGENT,
    WECHAT_HOSTS,
    WECHAT_REFERER,
    Kind,
    check_url,
    format_size,
)
from harvester.http.relay import (
    RELAY_ENV,
    parse_relay,
    relay_from_env,
    relay_url,
    unrelay_url,
)
from harvester.http.retry import parse_retry_after

__all__ = [
    "ARTICLE_HOST",
    "DEFAULT_MAX_BYTES",
    "IMAGE_HOSTS",
    "IMAGE_HOST_CONCURRENCY",
    "IMAGE_HOST_RATE",
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
