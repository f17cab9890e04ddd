"""A body that is Markdown already (the archive's own files, its Hugo export's pages) as the
BodyTemplate a converted body is: its images' destinations left open. Pure: no I/O.

Images are `![alt](destination)` as harvester/markdown writes them, outside code. A remote
image (`http(s)://…`) is named by its URL; an image the archive stored is named by its
place in an archive, `images/<sha[:2]>/<sha>.<ext>`, however the file links it
(`../../../images/…` from an archive's articles/, `/images/…` from a Hugo site), so the
same image is the same one in both. Any other destination is left as it is.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from harvester.markdown import BodyTemplate

IMAGE = re.compile(r"!\[(?:[^\[\]\\\n]|\\.|\[(?:[^\[\]\\\n]|\\.)*\])*\]\(((?:[^()\s\\]|\\.)+)\)")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
ESCAPED = re.compile(r"\\(.)")
STORED_IMAGE = re.compile(
    r"(?:\.{1,2}/)*/?(images/(?P<prefix>[0-9a-f]{2})/(?P<sha>[0-9a-f]{64})\.[a-z0-9]{2,5})"
)
REMOTE = re.compile(r"https?://", re.I)


def stored_image_name(destination: str) -> str | None:
    """`images/<sha[:2]>/<sha>.<ext>` for a link to an image an archive stored, else None."""
    match = STORED_IMAGE.fullmatch(destination)
    if match is None or match["prefix"] != match["sha"][:2]:
        return None
    return match[1]


def image_name(destination: str) -> str | None:
    """What an image destination names: its URL, a stored image's name, or None (kept)."""
    url = ESCAPED.sub(r"\1", destination)
    if REMOTE.match(url):
        return url
    return stored_image_name(url)


def markdown_template(markdown: str) -> BodyTemplate:
    """The body with each image destination a placeholder that BodyTemplate.fill resolves."""
    prefix = "wximg" + secrets.token_hex(6) + "n"
    while prefix in markdown:
        prefix = "wximg" + secrets.token_hex(6) + "n"
    urls: dict[str, int] = {}
    order: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        url = image_name(match[1])
        if url is None:
            return match[0]
        order.append(url)
        number = urls.setdefault(url, len(urls))
        start, end = (at - match.start() for at in match.span(1))
        return match[0][:start] + f"{prefix}{number}z" + match[0][end:]

    lines = []
    fence: str | None = None
    for line in markdown.split("\n"):
        opened = FENCE.match(line)
        if fence is not None:
            if opened and opened[1][0] == fence[0] and len(opened[1]) >= len(fence):
                fence = None
            lines.append(line)
        elif opened:
            fence = opened[1]
            lines.append(line)
        else:
            lines.append(_outside_code(line, placeholder))
    return BodyTemplate("\n".join(lines), order, list(urls), prefix)


def _outside_code(line: str, replace: Callable[[re.Match[str]], str]) -> str:
    """`line` with IMAGE matches replaced, except inside code spans."""
    parts, at = [], 0
    for span in CODE_SPAN.finditer(line):
        parts.append(IMAGE.sub(replace, line[at : span.start()]))
        parts.append(span[0])
        at = span.end()
    parts.append(IMAGE.sub(replace, line[at:]))
    return "".join(parts)
