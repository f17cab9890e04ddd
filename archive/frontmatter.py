"""YAML front matter: the one writer (archive files, Hugo pages) and the one reader.

Written front matter is a `---` fence, one `key: value` line per field in order, and a
closing `---`. A value is a JSON value, which is valid YAML flow, with the characters
YAML would mangle escaped; fields without a value are left out. Date fields are written
bare, as the ISO 8601 text they were given, so Hugo reads them as times; reading keeps
them as that text rather than turning them into datetimes.

PyYAML is imported only when front matter is read: writing an article needs none of it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from archive.times import parse_time

# Fields written bare when they hold an ISO 8601 time (and left out when they do not).
DATE_FIELDS = frozenset({"date", "published", "fetched"})
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?$"
)


# Characters YAML cannot hold as they are (outside its printable set, or line breaks it
# would read as such): written as JSON \u escapes, which YAML reads back the same. A lone
# surrogate is no character at all: Hugo refuses its escape (and with it the whole site),
# so it is written as U+FFFD, as a decoder shows it.
_NOT_YAML_PRINTABLE = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match[0])
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else f"\\u{code:04x}"


def yaml_value(value: Any) -> str:
    """A JSON value, which is valid YAML flow; characters YAML would mangle are escaped."""
    text = json.dumps(value, ensure_ascii=False)
    if _NOT_YAML_PRINTABLE.search(text) is None:
        return text
    return _NOT_YAML_PRINTABLE.sub(_escaped, text)


def date_value(value: Any) -> str | None:
    """An ISO 8601 time as written (Hugo parses it); None for anything else."""
    text = str(value).strip() if value is not None else ""
    return text if _ISO_DATE.match(text) and parse_time(text) else None


def write_front_matter(fields: Mapping[str, Any]) -> str:
    """The front matter for `fields`, in their order, ending in a newline.

    None values are left out, and so are date fields (DATE_FIELDS) that are not ISO
    8601 times; every other value goes through `yaml_value`.
    """
    lines = ["---"]
    for name, value in fields.items():
        if value is None:
            continue
        rendered = date_value(value) if name in DATE_FIELDS else yaml_value(value)
        if rendered is not None:
            lines.append(f"{name}: {rendered}")
    lines.append("---")
    return "\n".join(lines) + "\n"


@functools.cache
def _no_dates_loader() -> type:
    """A SafeLoader subclass that keeps timestamps as the strings they were written as."""
    import yaml

    class NoDatesLoader(yaml.SafeLoader):
        pass

    NoDatesLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return NoDatesLoader


def _one_line(error: Exception) -> str:
    """A YAML error as one line: what is wrong, and on which line of the file."""
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    mark = getattr(error, "problem_mark", None)
    return f"{problem} (line {mark.line + 2})" if mark is not None else problem


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a Markdown file written by the archive; ValueError if unreadable."""
    import yaml

    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 3)
    if end < 0:
        if text.endswith("\n---"):
            end = len(text) - 4
        else:
            raise ValueError("front matter is not closed")
    try:
        data = yaml.load(text[4 : end + 1], Loader=_no_dates_loader())  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ValueError(f"front matter is not valid YAML: {_one_line(error)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError("front matter is not a mapping")
    return {str(k): v for k, v in data.items()}, text[end + 5 :]


def with_field(text: str, name: str, value: Any) -> str:
    """A Markdown file written by the archive with one front-matter field set to `value`
    (the rest as written); ValueError if its front matter is unreadable."""
    fields, body = split_front_matter(text)
    if not fields:
        raise ValueError("no front matter")
    return write_front_matter({**fields, name: value}) + body
