"""`kind = "urls"`: a text file of article links, one a line.

Blank lines and comments are skipped: a line whose first non-blank character is `#`, and
anything after ` #` (whitespace then `#`; a `#` inside a link, as in `…#rd`, stays). A line
that is not an article link is skipped with a warning `links.txt:12: <reason>`; the same
article listed twice is yielded once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from harvester.links import LinkError, parse_link
from harvester.sources.base import BaseSource, Listing, register

_COMMENT = re.compile(r"(?:^|\s)#.*$")


def parse_link_lines(text: str, *, filename: str, source: str) -> tuple[list[Listing], list[str]]:
    """The listings of a links file's text, and a warning for each line skipped."""
    listings: list[Listing] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        try:
            link = parse_link(line)
        except LinkError as error:
            warnings.append(f"{filename}:{number}: {error}")
            continue
        if link.key in seen:
            continue
        seen.add(link.key)
        listings.append(Listing(link=link, source=source))
    return listings, warnings


@register("urls")
class UrlsSource(BaseSource):
    KEYS = frozenset({"path"})

    def default_name(self) -> str:
        path = self.config.get("path")
        return f"urls:{path}" if isinstance(path, str) else "urls"

    def check(self) -> None:
        self.check_common()
        path = self.path_of("path")
        if not path.exists():
            raise self.config_error("path", f"names {path}, which does not exist")
        if not path.is_file():
            raise self.config_error("path", f"names {path}, which is not a file")
        try:
            with path.open("rb"):
                pass
        except OSError as error:
            problem = f"names {path}, which cannot be read: {error.strerror}"
            raise self.config_error("path", problem) from None

    def listings(self) -> Iterator[Listing]:
        self.check()
        path: Path = self.path_of("path")
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        listings, warnings = parse_link_lines(
            text, filename=str(self.config["path"]).strip(), source=self.name
        )
        self.warnings.extend(warnings)
        yield from listings
