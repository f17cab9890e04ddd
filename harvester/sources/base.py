"""What every source shares: the Listing it yields, its errors, config checks, the registry.

A source is built from one `[[sources]]` table of the harvest config by the factory
registered for its `kind`:

    source = make_source({"kind": "album", "url": "…"}, SourceContext(client, base_dir))
    source.check()                  # config only, no network; InputError naming the key
    for listing in source.listings():   # lazy: pages are fetched as you iterate
        ...
    source.warnings                 # ["links.txt:12: …", …], problems that were not fatal
    source.skipped                  # entries left out as not articles (no warning)

`listings()` raises `SourceError` when the source as a whole failed (WeChat said no,
the answer made no sense), `harvester.errors.TryLater` when WeChat asked us to slow down,
and lets the client's `FetchError` / `ForbiddenHost` through. Stopping the iteration
early fetches no further pages, which is how an incremental harvest stops at known items.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from archive.times import from_unix, now_utc
from harvester.errors import InputError, TryLater
from harvester.links import ArticleLink

FREQ_CONTROL = 200013  # base_resp.ret of every mp endpoint that says slow down

# Keys any source table may carry besides its own.
COMMON_KEYS = frozenset({"kind", "name", "follow_links"})

# What WeChat serves instead of JSON when it wants a human to prove itself.
VERIFICATION_MARKERS = (
    "wappoc_appmsgcaptcha",
    "secitptpage",
    "TCaptcha.js",
    "验证身份",
    "访问过于频繁",
    "环境异常",
)


@dataclass(frozen=True)
class InAlbum:
    """Where an album listing put an article: the album, its place in the album (1 its
    first article, None when the listing does not say), the album's title if given."""

    album_id: str
    position: int | None = None
    title: str | None = None


@dataclass(frozen=True)
class Listing:
    """One article a source knows about, with what the listing itself says of it.

    `published_at` is aware (China time, UTC+8, for WeChat's Unix seconds); `source` is
    the label of the source it came from; `seed_path` is the seed-format file holding the
    article's content, when it came from one (import it instead of fetching); `biz` is
    the account, when the source knows it before any fetch (a short link from WeRead);
    `album` where an album listing put it (harvester/discovered.py remembers it).
    """

    link: ArticleLink
    title: str | None = None
    published_at: datetime | None = None
    cover: str | None = None
    digest: str | None = None
    source: str = ""
    seed_path: Path | None = None
    biz: str | None = None
    channel: str = ""  # how a source with several ways found it ("getainfo"); default its kind
    album: InAlbum | None = None


class SourceError(Exception):
    """A source that failed as a whole (the harvest reports it and goes on with the rest)."""


class SourceConfigError(InputError):
    """A bad `[[sources]]` table; `key` names the offending key."""

    def __init__(self, label: str, key: str, problem: str) -> None:
        self.label = label
        self.key = key
        self.problem = problem
        super().__init__(f"{label}: {key!r} {problem}")


class Fetcher(Protocol):
    """What a source needs of `harvester.http.HttpClient`."""

    def get(
        self,
        url: str,
        *,
        kind: str = ...,
        max_bytes: int | None = ...,
        headers: Mapping[str, str] | None = ...,
        also_allow: Iterable[str] = ...,
    ) -> Any: ...

    def post(self, url: str, form: Mapping[str, str], **options: Any) -> Any: ...


@dataclass
class SourceContext:
    """What a source gets besides its table: the shared client, where relative paths start,
    and what the archive knows already.

    `client` may be None for offline work (check(), and the urls and seed sources).
    `known(link)`: the article is archived or queued (a source that pages newest first
    stops at the first page it knows all of); by default nothing is known. `memory`: what
    the harvest remembers per account (harvester/discovered.py), None outside a harvest.
    """

    client: Fetcher | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    known: Callable[[ArticleLink], bool] = field(default=lambda _link: False)
    memory: Any = None  # harvester.discovered.Discovered during a harvest: albums, channels


class Source(Protocol):
    kind: str
    name: str
    warnings: list[str]
    skipped: int
    extra_hosts: frozenset[str]
    follow_links: bool

    def check(self) -> None: ...

    def listings(self) -> Iterator[Listing]: ...


SourceFactory = Callable[[Mapping[str, Any], SourceContext], Source]
REGISTRY: dict[str, SourceFactory] = {}


def register(kind: str) -> Callable[[type], type]:
    """Class decorator: make `kind = "<kind>"` in the config build this class."""

    def decorate(cls: type) -> type:
        if kind in REGISTRY:
            raise ValueError(f"source kind {kind!r} registered twice")
        cls.kind = kind  # type: ignore[attr-defined]
        REGISTRY[kind] = cls
        return cls

    return decorate


def known_kinds() -> list[str]:
    return sorted(REGISTRY)


def make_source(config: Mapping[str, Any], context: SourceContext | None = None) -> Source:
    """The source for one config table; InputError for a missing or unknown `kind`."""
    if not isinstance(config, Mapping):
        raise InputError(f"a source must be a table, not {type(config).__name__}")
    kinds = ", ".join(known_kinds())
    kind = config.get("kind")
    if kind is None:
        raise SourceConfigError("source", "kind", f"is missing (known kinds: {kinds})")
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise SourceConfigError(
            "source", "kind", f"is {kind!r}, not a known source kind (known kinds: {kinds})"
        )
    return REGISTRY[kind](config, context or SourceContext())


class BaseSource:
    """Config helpers shared by the sources; subclasses set KEYS and implement the rest."""

    kind: ClassVar[str] = ""
    KEYS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: Mapping[str, Any], context: SourceContext) -> None:
        self.config = dict(config)
        self.context = context
        self.warnings: list[str] = []
        self.skipped = 0  # entries left out because they hold no article (an about page)
        self.extra_hosts: frozenset[str] = frozenset()
        self._warned_keys = False
        name = self.config.get("name")
        self.name = name if isinstance(name, str) and name.strip() else self.default_name()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    # -- what subclasses provide

    def default_name(self) -> str:
        return self.kind

    def check(self) -> None:
        self.check_common()

    def listings(self) -> Iterator[Listing]:
        raise NotImplementedError

    # -- helpers

    @property
    def label(self) -> str:
        """How messages name this source: `album source "album:123"`."""
        return f"{self.kind} source {self.name!r}"

    @property
    def follow_links(self) -> bool:
        return self.config.get("follow_links") is True

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def note_channel(self, biz: str, channel: str, error: str | None = None) -> None:
        """Remember that `channel` worked (or failed, why) for the account `biz`."""
        memory = self.context.memory
        if memory is None:
            return
        if error is None:
            memory.channel_worked(biz, channel, now=now_utc())
        else:
            memory.channel_failed(biz, channel, error, now=now_utc())

    def config_error(self, key: str, problem: str) -> SourceConfigError:
        return SourceConfigError(self.label, key, problem)

    def check_common(self) -> None:
        name = self.config.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise self.config_error("name", "must be a non-empty string")
        follow = self.config.get("follow_links")
        if follow is not None and not isinstance(follow, bool):
            raise self.config_error("follow_links", "must be true or false")
        if not self._warned_keys:
            self._warned_keys = True
            for key in sorted(set(self.config) - COMMON_KEYS - self.KEYS):
                known = ", ".join(sorted(COMMON_KEYS | self.KEYS))
                self.warn(f"{self.label}: unknown key {key!r} ignored (known keys: {known})")

    def require_str(self, key: str) -> str:
        value = self.config.get(key)
        if value is None:
            raise self.config_error(key, "is missing")
        if not isinstance(value, str):
            raise self.config_error(key, f"must be a string, not {type(value).__name__}")
        if not value.strip():
            raise self.config_error(key, "is empty")
        return value.strip()

    def optional_int(self, key: str, *, minimum: int = 1) -> int | None:
        value = self.config.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.config_error(key, f"must be a whole number, not {value!r}")
        if value < minimum:
            raise self.config_error(key, f"must be at least {minimum}, not {value}")
        return value

    def path_of(self, key: str) -> Path:
        """The config path under `key`, relative paths taken from the context's base_dir."""
        path = Path(self.require_str(key)).expanduser()
        return path if path.is_absolute() else self.context.base_dir / path

    def client(self) -> Fetcher:
        if self.context.client is None:
            raise SourceError(f"{self.label}: no HTTP client to fetch with")
        return self.context.client


# --------------------------------------------------------------------------- parse helpers


def unix_time(value: Any) -> datetime | None:
    """WeChat's Unix seconds (int or digit string) as an aware China-time datetime."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            return None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    try:
        return from_unix(seconds)
    except (OverflowError, OSError, ValueError):
        return None


def text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def load_json(data: bytes | str | Mapping[str, Any], what: str) -> dict[str, Any]:
    """A JSON object from a response body; SourceError saying what it was if not one.

    A verification page served where JSON was expected raises TryLater instead.
    """
    if isinstance(data, Mapping):
        return dict(data)
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = text.lstrip("\ufeff")
    try:
        parsed = json.loads(text)
    except ValueError:
        if any(marker in text for marker in VERIFICATION_MARKERS):
            raise TryLater(
                f"{what}: WeChat answered with its verification page; slow down and try later"
            ) from None
        head = " ".join(text[:80].split())
        raise SourceError(f"{what}: the answer is not JSON (starts {head!r})") from None
    if not isinstance(parsed, dict):
        raise SourceError(f"{what}: the answer is JSON but not an object")
    return parsed


def base_ret(data: Mapping[str, Any]) -> tuple[int, str]:
    """(`base_resp.ret`, `base_resp.errmsg`); a missing base_resp counts as ret 0."""
    resp = data.get("base_resp")
    if not isinstance(resp, Mapping):
        return 0, ""
    ret = resp.get("ret", 0)
    try:
        code = int(ret)
    except (TypeError, ValueError):
        code = -1
    return code, str(resp.get("errmsg") or resp.get("err_msg") or "")


def checked_answer(
    data: bytes | str | Mapping[str, Any],
    what: str,
    *,
    refused: str = "WeChat refused",
    hint: str = "",
) -> dict[str, Any]:
    """A JSON answer of a public mp endpoint whose `base_resp.ret` is 0. TryLater for
    freq control (200013) or the verification page; SourceError for any other ret."""
    body = load_json(data, what)
    ret, errmsg = base_ret(body)
    if ret == FREQ_CONTROL:
        raise TryLater(f"{what}: WeChat freq control (ret {ret}); try again in a few hours")
    if ret != 0:
        detail = f" {errmsg}" if errmsg else ""
        raise SourceError(f"{what}: {refused} (base_resp.ret {ret}{detail}){hint}")
    return body
