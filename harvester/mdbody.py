"""A body that is Markdown already (the archive's own files, its Hugo export's pages) as the
BodyTemplate a converted body is: its images' destinations left open. Pure: no I/O.

Images are `![alt](destination)` as harvester/markdown writes them, outside code. A remote
image (`http(s)://…`) is named by its URL; an image the archive stored is named by its
place in an archive, `images/<sha[:2]>/<sha>.<ext>`, however the file links it
(`../../../images/…` from an archive's articles/, `/images/…` from a Hugo site), so the
same image is the same one in both. Any other destination is left as it is.

Such a body comes from a file anyone can write, and a Hugo site built with
`markup.goldmark.renderer.unsafe = true` publishes its raw HTML as it is. `safe_markdown`
makes it hold only what the converter writes: raw HTML and autolinks become text, and a
link or image whose scheme could run code (javascript:, vbscript:, data:…, read as a
browser reads it) keeps only its text. A body with none of them is kept byte for byte.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.token import Token

from archive.schemes import IMAGE_SCHEMES
from harvester.markdown import BodyTemplate
from harvester.markdown.links import allowed_url

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


def _reader() -> MarkdownIt:
    """CommonMark with raw HTML, as Hugo reads it; every link is kept (none refused) and
    its destination given as written, entities and escapes decoded, to be judged here."""
    reader = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    reader.validateLink = lambda url: True
    reader.normalizeLink = lambda url: url
    return reader


_READER = _reader()
HTML, LINK = "html", "link"
_BRACKET = re.compile(r"(?<!\\)([\[\]])")


def safe_markdown(markdown: str) -> str:
    """`markdown` without raw HTML, autolinks, or links and images that could run code.

    The lines of each block holding one are mended (`<` as `&lt;`, brackets escaped,
    outside code spans) and the result read again; what a code span hid is then mended
    on the whole line, so the body ends with nothing a browser could run.
    """
    text = markdown
    for everywhere in (False, True, True):
        unsafe = _unsafe_lines(text)
        if not unsafe:
            return text
        lines = text.split("\n")
        for number, reasons in unsafe.items():
            lines[number] = _mended(lines[number], reasons, everywhere=everywhere)
        text = "\n".join(lines)
    if _unsafe_lines(text):
        return "\n".join(_mended(line, {HTML, LINK}, everywhere=True) for line in text.split("\n"))
    return text


def _unsafe_lines(markdown: str) -> dict[int, set[str]]:
    """Line numbers of the blocks holding raw HTML or a link that could run code, and what."""
    found: dict[int, set[str]] = {}
    for token in _READER.parse(markdown):
        if token.map is None:
            continue
        reasons = {HTML} if token.type == "html_block" else set()
        for child in token.children or []:
            reasons |= _unsafe_inline(child)
        for number in range(*token.map) if reasons else ():
            found.setdefault(number, set()).update(reasons)
    return found


def _unsafe_inline(token: Token) -> set[str]:
    if token.type == "html_inline":
        return {HTML}
    if token.type == "link_open" and allowed_url(str(token.attrGet("href") or "")) is None:
        return {HTML} if token.markup == "autolink" else {LINK}
    src = str(token.attrGet("src") or "")
    if token.type == "image" and allowed_url(src, IMAGE_SCHEMES) is None:
        return {LINK}
    return set()


def _mended(line: str, reasons: set[str], *, everywhere: bool) -> str:
    """`line` with what opens raw HTML (`<`) or a link (`[`, `]`) written as text."""

    def mend(text: str) -> str:
        if HTML in reasons:
            text = text.replace("<", "&lt;")
        if LINK in reasons:
            text = _BRACKET.sub(r"\\\1", text)
        return text

    if everywhere:
        return mend(line)
    parts, at = [], 0
    for span in CODE_SPAN.finditer(line):
        parts += [mend(line[at : span.start()]), span[0]]
        at = span.end()
    parts.append(mend(line[at:]))
    return "".join(parts)
