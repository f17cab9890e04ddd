"""Stage 2: `Converter`, the markdownify subclass fed the pre-cleaned tree (copied into
`harvester.htmltree`). It tracks `<pre>`/link/cell/heading context itself (upstream calls
`find_parent('pre')` for every tag and text node) and writes sentinels for everything whose
final spelling depends on the neighbours; `finish` resolves them."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping

from markdownify import MarkdownConverter

from archive.schemes import IMAGE_SCHEMES
from harvester.htmltree import Element, Text
from harvester.markdown.code import clean_code, code_language, code_span, code_text, fenced
from harvester.markdown.embeds import EmbedRules
from harvester.markdown.links import (
    absolute,
    allowed_url,
    article_url,
    dest,
    link_segments,
    wrap_segments,
)
from harvester.markdown.sentinels import (
    BR,
    D_C,
    D_O,
    E_C,
    E_O,
    F_C,
    F_O,
    HB,
    HR,
    IM_O,
    KIND_RE,
    L_C,
    L_M,
    L_O,
    LS,
    S_C,
    S_O,
    SL,
)
from harvester.markdown.tags import (
    BLOCK_TAGS,
    CODE_TAGS,
    CONTEXT_TAGS,
    HEADING_BREAKERS,
    HEADINGS,
    MEDIA,
    SKIP,
    WRAPPERS,
)
from harvester.markdown.text import (
    brackets,
    clean_text,
    escape_tex,
    escape_text,
    has_content,
    raised,
)

# The image map of the conversion under way (set by api for each call).
IMAGE_MAP: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "image_map", default=None
)

_BR_RUN = re.compile(rf"[ ]*(?:{BR}[ ]*)+")
_BLANK_RUNS = re.compile(r"\n{3,}")
# An image, or a linked image, inside a heading: it moves to a line of its own.
_HEADING_IMAGE = re.compile(
    rf"{L_O}{IM_O}[^{L_M}]*{L_M}[^{L_C}]*{L_C}{L_M}[^{L_C}]*{L_C}|{IM_O}[^{L_M}]*{L_M}[^{L_C}]*{L_C}"
)


def _has_descendant(el: Element, names: frozenset[str]) -> bool:
    return any(d.name in names for d in el.descendants if isinstance(d, Element))


def _resolve_breaks(text: str) -> str:
    """<br> runs: one → hard break, two or more → paragraph break, at a block edge → nothing."""
    if BR not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        start, end = m.start(), m.end()
        if start == 0 or end == len(text) or text[start - 1] == "\n" or text[end] == "\n":
            return ""
        return "\n\n" if m.group(0).count(BR) > 1 else HB + "\n"

    return _BR_RUN.sub(repl, text)


def _block(text: str) -> str:
    """Finish the content of a block: resolve <br>, mark inline lines, collapse blank runs."""
    if "\n" not in text and BR not in text:
        text = text.strip(" ")
        return LS + text if text else ""
    text = _resolve_breaks(text)
    out = []
    for line in text.split("\n"):
        if KIND_RE.search(line) is None:
            line = line.strip(" ")
            if line:
                line = LS + line
        out.append(line)
    text = "\n".join(out)
    return (_BLANK_RUNS.sub("\n\n", text) if "\n\n\n" in text else text).strip("\n")


def _nest_lists(node: Element) -> None:
    """A list placed directly in a list (`<ol><li>a</li><ol>…</ol>`) shows as the previous
    item's sublist in a browser: it becomes one, so its nesting is kept."""
    if not any(isinstance(c, Element) and c.name in ("ul", "ol") for c in node.contents):
        return
    kept: list[Text | Element] = []
    item: Element | None = None
    for child in node.contents:
        if isinstance(child, Element) and child.name == "li":
            item = child
        elif isinstance(child, Element) and child.name in ("ul", "ol") and item is not None:
            child.parent = item
            item.contents.append(child)
            continue
        kept.append(child)
    node.contents = kept


def _span(cell: Element, name: str, most: int) -> int:
    """A cell's colspan or rowspan, 1 when missing or unreadable, at most `most`."""
    try:
        span = int(str(cell.get(name) or "1").strip())
    except ValueError:
        span = 1
    return min(max(span, 1), most)


def _pipe_table(rows: list[list[str]]) -> str:
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    keep = [i for i in range(width) if any(has_content(r[i]) for r in rows)] or [0]
    lines = []
    for n, row in enumerate(rows):
        lines.append(SL + "| " + " | ".join(row[i] for i in keep) + " |")
        if n == 0:
            lines.append(SL + "|" + "|".join([" --- "] * len(keep)) + "|")
    return "\n".join(lines)


class Converter(EmbedRules, MarkdownConverter):
    """markdownify with WeChat rules; one instance is shared (per-call state lives in a
    ContextVar), so it must not keep state on self while converting."""

    class Options(MarkdownConverter.DefaultOptions):
        heading_style = "atx"
        bullets = "-"
        escape_asterisks = False
        escape_underscores = False
        escape_misc = False
        strip_document = None

    # ---------------------------------------------------------------- traversal

    def convert_soup(self, tree):  # markdownify's name for its entry point
        return self.process_tag(tree, parent_tags=frozenset())

    def process_tag(self, node, parent_tags=None):
        if parent_tags is None:
            parent_tags = frozenset()
        name = node.name or ""
        if name in SKIP:
            return ""
        if name == "pre":
            return self._pre(node, parent_tags)
        if name in CODE_TAGS:
            return self._code(node, parent_tags)
        if name == "table":
            return self._table(node, parent_tags)
        if name in ("ul", "ol"):
            _nest_lists(node)
            self._number_items(node)
        elif name in HEADINGS and _has_descendant(node, HEADING_BREAKERS):
            # A "heading" wrapping lists or quotes is an editor accident, not a heading.
            return self._as_wrapper(node, parent_tags)

        child_tags = parent_tags
        if name in CONTEXT_TAGS:
            child_tags = parent_tags | {name, "_inline"} if name != "a" else parent_tags | {"a"}

        parts = []
        inline_child = False
        for child in node.contents:
            if isinstance(child, Text):
                text = self.process_text(child, child_tags)
                if text.strip():
                    inline_child = True
                    if name in ("ul", "ol"):
                        text = "\n" + text + "\n"
                parts.append(text)
            elif isinstance(child, Element):
                if child.name not in BLOCK_TAGS:
                    inline_child = True
                part = self.process_tag(child, child_tags)
                if name in ("ul", "ol") and child.name != "li" and part.strip():
                    part = "\n" + part + "\n"  # stray content in a list: its own line
                parts.append(part)
        text = "".join(parts)

        if name in WRAPPERS:
            if "_inline" in parent_tags:
                return " " + text.strip() + " "
            if not inline_child:
                return text
            body = _block(text)
            return "\n\n" + body + "\n\n" if body else ""

        convert_fn = self.get_conv_fn_cached(name)
        if convert_fn is not None:
            return convert_fn(node, text, parent_tags=parent_tags)
        return text

    def process_text(self, el, parent_tags=None):
        text = clean_text(str(el))
        if not text.strip():
            return " " if text else ""
        tags = parent_tags or ()
        return escape_text(text, link="a" in tags, cell="td" in tags or "th" in tags)

    def convert__document_(self, el, text, parent_tags):
        return _block(text)

    # ---------------------------------------------------------------- blocks

    def convert_p(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        return "\n\n" + body + "\n\n" if has_content(body) else ""

    def convert_blockquote(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        if not has_content(body):
            return ""
        lines = [("> " + line) if line else (">" + SL) for line in body.split("\n")]
        return "\n\n" + "\n".join(lines) + "\n\n"

    def convert_hN(self, n, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        return self._heading(n, text)

    def _heading(self, n: int, text: str) -> str:
        text = KIND_RE.sub(" ", text.replace("\n", " ").replace(S_O, "").replace(S_C, ""))
        text = text.replace(BR, " ").replace(HB, " ")
        before: list[str] = []
        after: list[str] = []
        pieces: list[str] = []
        pos = 0
        for m in _HEADING_IMAGE.finditer(text):
            chunk = text[pos : m.start()]
            pieces.append(chunk)
            seen_text = has_content("".join(pieces))
            (after if seen_text else before).append(m.group(0))
            pos = m.end()
        pieces.append(text[pos:])
        title = " ".join("".join(pieces).split())
        if not has_content(title):
            title = ""
        # Exposed "#" at the end would be read as a closing sequence.
        title = re.sub(r"(^|\s)(#+)$", r"\1\\\2", title)
        blocks = [LS + img for img in before]
        if title:
            blocks.append(SL + "#" * n + " " + title)
        blocks += [LS + img for img in after]
        return "\n\n" + "\n\n".join(blocks) + "\n\n" if blocks else ""

    def convert_hr(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " "
        return "\n\n" + HR + "\n\n"

    def convert_br(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " "
        return BR

    # ---------------------------------------------------------------- lists

    def _number_items(self, node: Element) -> None:
        """Give every <li> of this list its marker, counting only items that have content."""
        alternate = False
        visible = (n for n in node.previous_siblings if not (isinstance(n, Text) and not n.strip()))
        prev = next(visible, None)
        if isinstance(prev, Element) and prev.name == node.name:
            alternate = True
        if node.name == "ol":
            try:
                number = int(str(node.get("start") or "1").strip())
            except ValueError:
                number = 1
            number = min(max(number, 0), 999_999_999)
            delimiter = ")" if alternate else "."
        else:
            number = 0
            delimiter = ""
        bullet = "*" if alternate else "-"
        for li in node.contents:
            if not isinstance(li, Element) or li.name != "li":
                continue
            if node.name == "ol":
                li.attrs["data-md-bullet"] = f"{number}{delimiter} "
                if li.get_text().strip() or _has_descendant(li, MEDIA):
                    number += 1
            else:
                li.attrs["data-md-bullet"] = bullet + " "

    def convert_li(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        if not has_content(body):
            return ""
        bullet = el.attrs.get("data-md-bullet") or "- "
        indent = " " * len(bullet)
        lines = body.split("\n")
        out = "\n".join([bullet + lines[0]] + [indent + line if line else "" for line in lines[1:]])
        if el.parent is None or el.parent.name not in ("ul", "ol"):
            return "\n\n" + out + "\n\n"  # a stray <li> is a block of its own
        # Items of one paragraph stay tight; an item of several blocks gets blank lines around.
        return "\n" + out + "\n\n" if "\n\n" in body else out + "\n"

    def _list(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        if not has_content(body):
            return ""
        parent = el.parent
        if parent is not None and parent.name == "li" and re.match(r"(?:[-*]|1[.)]) ", body):
            # A nested list that may interrupt its item's first paragraph stays tight.
            return "\n" + body + "\n"
        return "\n\n" + body + "\n\n"

    convert_ul = _list
    convert_ol = _list

    # ---------------------------------------------------------------- inline

    def convert_strong(self, el, text, parent_tags):
        return wrap_segments(text, S_O, S_C)

    convert_b = convert_strong

    def convert_em(self, el, text, parent_tags):
        return wrap_segments(text, E_O, E_C)

    convert_i = convert_em
    convert_cite = convert_em
    convert_dfn = convert_em

    def convert_del(self, el, text, parent_tags):
        return wrap_segments(text, D_O, D_C)

    convert_s = convert_del
    convert_strike = convert_del

    def _passthrough(self, el, text, parent_tags):
        return text

    def convert_sup(self, el, text, parent_tags):
        return raised(text, superscript=True)

    def convert_sub(self, el, text, parent_tags):
        return raised(text, superscript=False)

    convert_q = _passthrough
    convert_u = _passthrough
    convert_ins = _passthrough
    convert_mark = _passthrough
    convert_small = _passthrough
    convert_big = _passthrough
    convert_abbr = _passthrough
    convert_svg = _passthrough

    def convert_a(self, el, text, parent_tags):
        text = brackets(text)
        href = (el.get("href") or "").strip()
        url = allowed_url(absolute(href)) if href and not href.startswith("#") else None
        if not url:
            return text
        if "mp.weixin.qq.com" in url.lower():
            url = article_url(url)
        if not has_content(text):
            return text
        if "_inline" in parent_tags or "\n" not in text:
            return link_segments(text.replace("\n", " "), url)
        return link_segments(text, url)

    def convert_wx_formula(self, el, text, parent_tags):
        """TeX between `$` (a display formula `$$`, a paragraph of its own), kept whole by
        `finish` (emphasis never splits it) and escaped so CommonMark shows the TeX exactly."""
        tex = clean_text(el.get("data-tex") or "").strip()
        if not tex:
            return ""
        tags = parent_tags or ()
        tex = escape_tex(tex, link="a" in tags, cell="td" in tags or "th" in tags)
        if el.get("data-display") and "_inline" not in tags:
            return "\n\n" + LS + F_O + "$$" + tex + "$$" + F_C + "\n\n"
        return F_O + "$" + tex + "$" + F_C

    def convert_img(self, el, text, parent_tags):
        src = (el.get("src") or "").strip()
        if not src or allowed_url(src, IMAGE_SCHEMES) is None:
            return ""
        mapping = IMAGE_MAP.get()
        if mapping is not None:
            src = mapping.get(src, src)
        alt = brackets(escape_text(clean_text(el.get("alt") or "").strip(), link=True))
        return IM_O + alt + L_M + dest(src) + L_C

    # ---------------------------------------------------------------- code

    def _code(self, node: Element, parent_tags) -> str:
        raw = code_text(node)
        cell = "td" in parent_tags or "th" in parent_tags
        if "\n" in raw.strip() and "_inline" not in parent_tags and "a" not in parent_tags:
            code = clean_code(raw)
            return fenced(code, code_language(node, None)) if code.strip() else ""
        span = code_span(raw, cell)
        if not span:
            return " " if raw else ""
        lead = " " if raw[:1].isspace() else ""
        trail = " " if raw[-1:].isspace() else ""
        return lead + span + trail

    def _pre(self, node: Element, parent_tags) -> str:
        if node.get("data-md-container"):
            # Not code: a layout that happens to sit in <pre> (a pasted page, an image).
            return self._as_wrapper(node, parent_tags)
        code = clean_code(code_text(node))
        if not code.strip():
            return ""
        if "_inline" in parent_tags:
            return " " + code_span(code, "td" in parent_tags or "th" in parent_tags) + " "
        return fenced(code, node.get("data-lang") or "")

    def _as_wrapper(self, node: Element, parent_tags) -> str:
        parts = []
        for child in node.contents:
            if isinstance(child, Text):
                parts.append(self.process_text(child, parent_tags))
            elif isinstance(child, Element):
                parts.append(self.process_tag(child, parent_tags))
        text = "".join(parts)
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        body = _block(text)
        return "\n\n" + body + "\n\n" if body else ""

    # ---------------------------------------------------------------- tables

    def _table(self, node: Element, parent_tags) -> str:
        """GFM pipe table, first row as header. A cell can hold only one line, so lists in a
        cell (layout tables) follow their row: the table is cut after that row and the
        lists come next, keeping every item a list item and the reading order intact."""
        inline = "_inline" in parent_tags
        cell_tags = parent_tags | {"td", "_inline"}
        segments: list[tuple[list[list[str]], list[str]]] = []
        rows: list[list[str]] = []
        covered: dict[int, int] = {}  # column: rows a rowspan from above still covers
        for tr in node.find_all("tr"):
            if tr.find_parent("table") is not node:
                continue
            row: list[str] = []
            after: list[str] = []
            for cell in tr.find_all(("td", "th"), recursive=False):
                while covered.get(len(row)):
                    row.append("")
                first = len(row)
                if not inline:
                    for lst in cell.find_all(("ul", "ol")):
                        # Only this cell's own top-level lists (not nested ones, not a
                        # nested table's), and only those with something in them.
                        if lst.find_parent(("ul", "ol", "td", "th")) is not cell:
                            continue
                        if not lst.get_text().strip() and not _has_descendant(lst, MEDIA):
                            continue
                        after.append(self.process_tag(lst, parent_tags))
                        lst.extract()
                row.append(self._cell(cell, cell_tags))
                row.extend([""] * (_span(cell, "colspan", 50) - 1))
                down = _span(cell, "rowspan", 1000)
                if down > 1:
                    covered.update(dict.fromkeys(range(first, len(row)), down))
            while covered.get(len(row)):
                row.append("")
            covered = {col: left - 1 for col, left in covered.items() if left > 1}
            if any(has_content(c) for c in row):
                rows.append(row)
            if after:
                segments.append((rows, after))
                rows = []
        if rows:
            segments.append((rows, []))
        caption = node.find("caption")
        caption_text = ""
        if caption is not None and caption.find_parent("table") is node:
            caption_text = self._cell(caption, cell_tags)
        if inline:
            flat = " ".join(" ".join(c for c in row if c) for rows, _ in segments for row in rows)
            return " " + " ".join(filter(None, [caption_text, flat])) + " "
        out = [LS + caption_text] if caption_text else []
        for rows, after in segments:
            if rows:
                out.append(_pipe_table(rows))
            out.extend(after)
        return "\n\n" + "\n\n".join(out) + "\n\n" if out else ""

    def _cell(self, cell: Element, cell_tags) -> str:
        parts = []
        for child in cell.contents:
            if isinstance(child, Text):
                parts.append(self.process_text(child, cell_tags))
            elif isinstance(child, Element):
                parts.append(self.process_tag(child, cell_tags))
        content = "".join(parts).replace("\n", " ")
        content = KIND_RE.sub(" ", content).replace(BR, " ").replace(HB, " ")
        return " ".join(content.split())
