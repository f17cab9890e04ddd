"""Code: a code `<pre>` reduced to its text during the pre-clean (lexbor), the language
read from the attributes, and the fences and spans the converter writes."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from harvester.htmltree import Element, Text
from harvester.markdown.sentinels import C_C, C_O, CL
from harvester.markdown.tags import CODE_BLOCKISH, SKIP
from harvester.markdown.text import STRAY_ZWJ, TEXT_TABLE

_LANG_CLASS = re.compile(r"(?:^|\s)(?:language|lang|code-snippet_{1,2})-?([A-Za-z0-9_+#.-]+)")
_NOT_LANGS = frozenset({"fix", "nowrap", "line-index", "outer", "custom", "hljs", "none", "plain"})
_SAFE_LANG = re.compile(r"[A-Za-z0-9_+#.-]{1,30}")
_BACKTICKS = re.compile(r"`+")
_PRE_CONTAINER_CSS = "table, h1, h2, h3, h4, h5, h6, blockquote, pre, figure"
_PRE_LINE_CSS = "div, p, section, li, tr, article"
# Where a block in a code <pre> ends: the next text starts a line, unless one starts there
# already (a <p> in an <li>, a <br> at the end of a line are one line break, not two).
_LINE_END = "\ufdef"
_LINE_ENDS = re.compile(f"(\n?){_LINE_END}+")


def flatten_pre(tree: LexborHTMLParser, pre) -> None:
    """Reduce a code <pre> to its text (one line per <code> child or <br>), with the language
    in data-lang and any images after it; mark layouts that merely sit in <pre> as containers."""
    if pre.parent is None:
        return
    own = pre.mem_id
    if any(n.mem_id != own for n in pre.css(_PRE_CONTAINER_CSS)) or (
        pre.css_first("img") is not None and not pre.text(deep=True).strip()
    ):
        pre.attrs["data-md-container"] = "1"
        return
    lang = _lexbor_language(pre)
    for br in pre.css("br"):
        br.replace_with("\n")
    for node in pre.css(_PRE_LINE_CSS):
        node.insert_after(_LINE_END)
    codes = [c for c in pre.iter() if c.tag == "code"]
    if len(codes) > 1:
        lines = []
        for child in pre.iter():
            text = _line_breaks(child.text(deep=True))
            if child.tag == "code" or text.strip():
                lines.append(text.rstrip("\n"))
        text = "\n".join(lines)
    else:
        text = _line_breaks(pre.text(deep=True))
    images = [img for img in pre.css("img")]
    for img in reversed(images):
        pre.insert_after(img)
    for child in list(pre.iter(include_text=True)):
        child.decompose()
    for key in list(pre.attributes):
        del pre.attrs[key]
    if lang:
        pre.attrs["data-lang"] = lang
    if text:
        pre.insert_child(text)


def _line_breaks(text: str) -> str:
    if _LINE_END not in text:
        return text
    return _LINE_ENDS.sub(lambda m: "\n" if m.start() or m[1] else "", text)


def _lexbor_language(pre) -> str:
    nodes = [pre, *[c for c in pre.iter() if c.tag == "code"][:1]]
    for node in nodes:
        attrs = node.attributes
        for key in ("data-lang", "data-language", "lang"):
            value = (attrs.get(key) or "").strip()
            if value and _SAFE_LANG.fullmatch(value):
                return value.lower()
        for cls in (attrs.get("class") or "").split():
            m = _LANG_CLASS.search(cls)
            if m and m.group(1).lower() not in _NOT_LANGS and _SAFE_LANG.fullmatch(m.group(1)):
                return m.group(1).lower()
    return ""


def code_language(pre: Element, code: Element | None) -> str:
    for el in (pre, code):
        if el is None:
            continue
        for key in ("data-lang", "data-language", "lang"):
            value = (el.get(key) or "").strip()
            if value and _SAFE_LANG.fullmatch(value):
                return value.lower()
        classes = el.get("class") or []
        if isinstance(classes, str):
            classes = classes.split()
        for cls in classes:
            m = _LANG_CLASS.search(cls)
            if m and m.group(1).lower() not in _NOT_LANGS and _SAFE_LANG.fullmatch(m.group(1)):
                return m.group(1).lower()
    return ""


def code_text(el: Element) -> str:
    """Text of a code element: <br> and block boundaries are newlines, NBSP are spaces."""
    parts: list[str] = []

    def walk(node: Element) -> None:
        for child in node.contents:
            if isinstance(child, Text):
                parts.append(str(child))
                continue
            name = child.name
            if name == "br":
                parts.append("\n")
            elif name in SKIP or name in ("svg", "img"):
                continue
            elif name in CODE_BLOCKISH:
                if parts and not parts[-1].endswith("\n"):
                    parts.append("\n")
                walk(child)
                if parts and not parts[-1].endswith("\n"):
                    parts.append("\n")
            else:
                walk(child)

    walk(el)
    text = "".join(parts)
    text = STRAY_ZWJ.sub("", text.translate(TEXT_TABLE))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_code(text: str) -> str:
    """Code line for line, blank lines kept, but at most two in a row: three blank lines
    read as junk to the fidelity yardstick (../shared/tools/fidelity.py), code or not."""
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    out: list[str] = []
    for line in lines:
        if not line and len(out) > 1 and not out[-1] and not out[-2]:
            continue
        out.append(line)
    return "\n".join(out)


def code_span(text: str, cell: bool) -> str:
    text = " ".join(text.split("\n")).strip(" ")
    if not text.strip():
        return ""
    if cell:
        text = text.replace("|", "\\|")
    return C_O + text + C_C  # the fence is chosen when the line is finished


def fence_code(text: str, touching_emphasis: bool) -> str:
    """A code span around `text`: one backtick more than its longest run, two when it is the
    whole of a bold run ("**``x``**" renders the same as "**`x`**" but does not read as
    "****" to tools that set code aside)."""
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1 if longest or not touching_emphasis else 2)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    return fence + text + fence


def fenced(text: str, lang: str) -> str:
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [CL + fence + lang] + [CL + line for line in text.split("\n")] + [CL + fence]
    return "\n\n" + "\n".join(lines) + "\n\n"
