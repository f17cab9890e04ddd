"""The harvest config (TOML): read, checked, every problem named by file, line and key.

    archive = "/srv/wechat"        # optional; relative paths start at the config's folder
    refresh_days = 7               # optional; re-check articles published in the last N days
    [politeness]                   # per host; every key optional
    requests_per_second = 0.5
    concurrency = 2
    image_requests_per_second = 8  # WeChat's image CDNs (default: the larger of 8 and the above)
    image_concurrency = 4          # (default: the larger of 4 and concurrency)
    jitter = 0.3                   # fraction of the interval, random
    backoff_hours = 6              # first wait after a verification page; doubles, max 48
    retries = 3                    # extra attempts after a network error or 5xx
    retry_backoff_seconds = 1.0    # first wait before such a retry; doubles
    timeout_seconds = 30
    deadline_seconds = 60          # one request in all (default: 60 a page, 120 an image)
    [[sources]]
    kind = "urls"
    path = "links.txt"
    follow_links = true            # any source: also queue the articles it links to
    follow_other_accounts = false  # … of other accounts too (default: same account only)
    refresh_days = 3               # any source: overrides the top-level refresh_days

`load_config` does it all before anything is fetched: TOML syntax (line and column),
unknown or mistyped keys, and each source's own `check()` (files exist, the mp auth file
is mode 0600, links parse), so a cron job with a broken config fails at once with exit 2
and one line such as `harvester.toml:9: sources[2] (kind "album"): 'url' is missing`.
Sources are numbered from 1 in the order they appear.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harvester.errors import InputError
from harvester.http import IMAGE_HOST_CONCURRENCY, IMAGE_HOST_RATE
from harvester.settings import env_number
from harvester.sources import REGISTRY, SourceConfigError, SourceContext, known_kinds, make_source
from harvester.sources.base import COMMON_KEYS, Source

TOP_KEYS = frozenset({"archive", "refresh_days", "politeness", "sources"})
# Keys of a [[sources]] table the harvest reads itself (the source never sees them).
HARVEST_SOURCE_KEYS = frozenset({"refresh_days", "follow_other_accounts"})
MAX_BACKOFF_HOURS = 48.0


@dataclass(frozen=True)
class Politeness:
    """How the harvest treats each host; defaults are what WeChat tolerates."""

    requests_per_second: float = 0.5
    concurrency: int = 2
    image_requests_per_second: float = IMAGE_HOST_RATE
    image_concurrency: int = IMAGE_HOST_CONCURRENCY
    jitter: float = 0.3
    backoff_hours: float = 6.0
    retries: int = 3
    retry_backoff_seconds: float = 1.0
    timeout_seconds: float = 30.0
    deadline_seconds: float | None = None  # None: http.DEADLINE_SECONDS, per kind


POLITENESS_KEYS = frozenset(Politeness.__dataclass_fields__)


def politeness_from_env(politeness: Politeness, environ: Mapping[str, str]) -> Politeness:
    """HARVESTER_RATE (requests a second per host), HARVESTER_BACKOFF (first retry wait,
    seconds) and HARVESTER_DEADLINE_SECONDS (the most one request may take) win over the
    config, as --archive does: they are for one run behind the user's own relay, or for
    tests. Image hosts are never slowed below their own rate."""
    rate = env_number(environ, "HARVESTER_RATE")
    backoff = env_number(environ, "HARVESTER_BACKOFF")
    deadline = env_number(environ, "HARVESTER_DEADLINE_SECONDS")
    if deadline is not None:
        politeness = replace(politeness, deadline_seconds=deadline)
    if rate is not None:
        politeness = replace(
            politeness,
            requests_per_second=rate,
            image_requests_per_second=max(rate, politeness.image_requests_per_second),
        )
    if backoff is not None:
        politeness = replace(politeness, retry_backoff_seconds=backoff)
    return politeness


@dataclass(frozen=True)
class SourceConfig:
    """One `[[sources]]` table: `table` is what the source gets (harvest-only keys removed)."""

    number: int  # 1-based, in config order
    kind: str
    table: dict[str, Any]
    refresh_days: int | None
    follow_other_accounts: bool
    line: int | None

    @property
    def where(self) -> str:
        return f'sources[{self.number}] (kind "{self.kind}")'


@dataclass(frozen=True)
class HarvestConfig:
    """A checked config; `base_dir` is where its relative paths start."""

    path: Path
    base_dir: Path
    archive: Path | None
    refresh_days: int | None
    politeness: Politeness
    sources: tuple[SourceConfig, ...]
    locator: _Locator = field(repr=False, compare=False)

    def build_sources(
        self, client: Any, *, known: Any = None, memory: Any = None
    ) -> list[tuple[SourceConfig, Source]]:
        """Each source, made with `client` (and the harvest's `known` and `memory`, see
        SourceContext); InputError (file, line, key) for a bad one."""
        built = []
        for spec in self.sources:
            context = SourceContext(client, self.base_dir, memory=memory)
            if known is not None:
                context.known = known
            try:
                source = make_source(spec.table, context)
            except SourceConfigError as error:
                raise self._error(spec, error.key, f"{error.key!r} {error.problem}") from None
            built.append((spec, source))
        return built

    def check_sources(self) -> list[tuple[SourceConfig, Source]]:
        """Every source built and checked offline (no client, no network)."""
        built = self.build_sources(None)
        for spec, source in built:
            try:
                source.check()
            except SourceConfigError as error:
                raise self._error(spec, error.key, f"{error.key!r} {error.problem}") from None
            except InputError as error:
                raise self._error(spec, None, str(error)) from None
        return built

    def _error(self, spec: SourceConfig, key: str | None, problem: str) -> InputError:
        line = self.locator.key_line(("sources", str(spec.number)), key) if key else None
        return InputError(f"{_at(self.path, line or spec.line)}{spec.where}: {problem}")


def load_config(path: Path) -> HarvestConfig:
    """The checked config at `path`; InputError naming the file, line and key otherwise."""
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(_toml_error(path, error)) from None
    locator = _Locator(text)
    checker = _Checker(path, locator)
    checker.known_keys(data, TOP_KEYS, ())
    base_dir = path.resolve().parent
    archive = checker.optional_str(data, "archive", ())
    refresh_days = checker.optional_int(data, "refresh_days", (), minimum=0)
    politeness = _politeness(checker, data.get("politeness", {}))
    sources = _sources(checker, data)
    config = HarvestConfig(
        path=path,
        base_dir=base_dir,
        archive=_relative_to(base_dir, archive) if archive else None,
        refresh_days=refresh_days or None,
        politeness=politeness,
        sources=tuple(sources),
        locator=locator,
    )
    config.check_sources()
    return config


# --------------------------------------------------------------------------- pieces


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such config file (start from scripts/harvester.example.toml)"
        ) from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a config file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read: {error.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from None


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _toml_error(path: Path, error: tomllib.TOMLDecodeError) -> str:
    message = str(error)
    found = _TOML_POSITION.search(message)
    if found is None:
        return f"{path}: not valid TOML: {message}"
    reason = message[: found.start()].rstrip()
    return f"{path}:{found.group(1)}:{found.group(2)}: not valid TOML: {reason}"


def _politeness(checker: _Checker, table: Any) -> Politeness:
    where = ("politeness",)
    if not isinstance(table, Mapping):
        raise checker.error(where, None, "[politeness] must be a table")
    checker.known_keys(table, POLITENESS_KEYS, where)
    defaults = Politeness()
    values: dict[str, Any] = {}
    for key in ("requests_per_second", "backoff_hours", "timeout_seconds"):
        values[key] = checker.number(table, key, where, getattr(defaults, key), positive=True)
    for key in ("jitter", "retry_backoff_seconds"):
        values[key] = checker.number(table, key, where, getattr(defaults, key), positive=False)
    if values["jitter"] > 1:
        raise checker.error(where, "jitter", f"'jitter' must be at most 1, not {table['jitter']}")
    values["concurrency"] = (
        checker.optional_int(table, "concurrency", where, minimum=1) or defaults.concurrency
    )
    # Image CDNs bear far more than the article host (as for `harvester fetch`).
    values["image_requests_per_second"] = checker.number(
        table,
        "image_requests_per_second",
        where,
        max(values["requests_per_second"], IMAGE_HOST_RATE),
        positive=True,
    )
    values["image_concurrency"] = checker.optional_int(
        table, "image_concurrency", where, minimum=1
    ) or max(values["concurrency"], IMAGE_HOST_CONCURRENCY)
    retries = checker.optional_int(table, "retries", where, minimum=0)
    values["retries"] = defaults.retries if retries is None else retries
    deadline = checker.number(table, "deadline_seconds", where, 0.0, positive=True)
    values["deadline_seconds"] = deadline or None  # unset: per kind (http.DEADLINE_SECONDS)
    return Politeness(**values)


def _sources(checker: _Checker, data: Mapping[str, Any]) -> list[SourceConfig]:
    tables = data.get("sources")
    if tables is None:
        raise checker.error((), None, "no [[sources]]: nothing to harvest")
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        raise checker.error((), "sources", "'sources' must be [[sources]] tables")
    if not tables:
        raise checker.error((), "sources", "'sources' is empty: nothing to harvest")
    specs = []
    for number, table in enumerate(tables, start=1):
        where = ("sources", str(number))
        kind = table.get("kind")
        if not isinstance(kind, str) or kind not in REGISTRY:
            problem = "is missing" if kind is None else f"is {kind!r}, not a known source kind"
            raise checker.error(
                where,
                None if kind is None else "kind",
                f"sources[{number}]: 'kind' {problem} (known kinds: {_kinds()})",
            )
        label = f'sources[{number}] (kind "{kind}")'
        known = COMMON_KEYS | REGISTRY[kind].KEYS | HARVEST_SOURCE_KEYS  # type: ignore[attr-defined]
        checker.known_keys(table, known, where, label=label)
        refresh = checker.optional_int(table, "refresh_days", where, minimum=0, label=label)
        other = table.get("follow_other_accounts", False)
        if not isinstance(other, bool):
            problem = "'follow_other_accounts' must be true or false"
            raise checker.error(where, "follow_other_accounts", f"{label}: {problem}")
        specs.append(
            SourceConfig(
                number=number,
                kind=kind,
                table={k: v for k, v in table.items() if k not in HARVEST_SOURCE_KEYS},
                refresh_days=refresh,
                follow_other_accounts=other,
                line=checker.locator.table_line(where),
            )
        )
    return specs


def _kinds() -> str:
    return ", ".join(known_kinds())


def _relative_to(base_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def _at(path: Path, line: int | None) -> str:
    return f"{path}:{line}: " if line else f"{path}: "


class _Checker:
    """Type checks of plain values, raising InputError with the file, line and key."""

    def __init__(self, path: Path, locator: _Locator) -> None:
        self.path = path
        self.locator = locator

    def error(self, table: tuple[str, ...], key: str | None, message: str) -> InputError:
        line = self.locator.key_line(table, key) if key else self.locator.table_line(table)
        return InputError(f"{_at(self.path, line)}{message}")

    @staticmethod
    def _label(table: tuple[str, ...], label: str | None) -> str:
        if label:
            return f"{label}: "
        return f"[{table[0]}] " if table else ""

    def known_keys(
        self,
        data: Mapping[str, Any],
        known: frozenset[str],
        table: tuple[str, ...],
        *,
        label: str | None = None,
    ) -> None:
        for key in data:
            if key not in known:
                names = ", ".join(sorted(known))
                raise self.error(
                    table,
                    key,
                    f"{self._label(table, label)}unknown key {key!r} (known keys: {names})",
                )

    def optional_str(self, data: Mapping[str, Any], key: str, table: tuple[str, ...]) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(table, key, f"{key!r} must be a non-empty string")
        return value.strip()

    def optional_int(
        self,
        data: Mapping[str, Any],
        key: str,
        table: tuple[str, ...],
        *,
        minimum: int,
        label: str | None = None,
    ) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(
                table,
                key,
                f"{self._label(table, label)}{key!r} must be a whole number of at least "
                f"{minimum}, not {value!r}",
            )
        return value

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        table: tuple[str, ...],
        default: float,
        *,
        positive: bool,
    ) -> float:
        value = data.get(key)
        if value is None:
            return default
        ok = (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (value > 0 if positive else value >= 0)
        )
        if not ok:
            what = "greater than 0" if positive else "0 or more"
            raise self.error(
                table,
                key,
                f"{self._label(table, None)}{key!r} must be a number {what}, not {value!r}",
            )
        return float(value)


_HEADER = re.compile(r"^\[\[?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


class _Locator:
    """Where tables and keys are written, from a light scan of the TOML text.

    Good for the configs people write (headers and `key = value` lines); a key it cannot
    place gets its table's line, or no line at all.
    """

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[str, ...], int] = {}
        self.keys: dict[tuple[str, ...], int] = {}
        current: tuple[str, ...] = ()
        counts: dict[str, int] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            header = _HEADER.match(line)
            if header:
                name = header.group(1).strip().strip("\"'")
                if line.startswith("[["):
                    counts[name] = counts.get(name, 0) + 1
                    current = (name, str(counts[name]))
                else:
                    current = (name,)
                self.tables.setdefault(current, number)
                continue
            key = _KEY.match(line)
            if key:
                self.keys.setdefault((*current, key.group(1).strip("\"'")), number)

    def table_line(self, table: tuple[str, ...]) -> int | None:
        return self.tables.get(table) if table else None

    def key_line(self, table: tuple[str, ...], key: str | None) -> int | None:
        if key is not None and (*table, key) in self.keys:
            return self.keys[(*table, key)]
        return self.table_line(table)
