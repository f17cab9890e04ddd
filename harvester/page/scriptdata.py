"""The data a page keeps in script variables: collected once, each read when asked for.

Only inline scripts that hold page data are scanned: the bundled libraries that make up
most of a 4 MB page are skipped by their opening lines. The variables looked for are the
names WeChat has used over the years (SCRIPT_NAMES), assigned as `var x =`, `window.x =`,
`d.x =` or `_g.x =`; their values are read with the literal evaluator (jsliteral), so only
literals count and library code cannot leak in.
"""

from __future__ import annotations

import re
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvester.page.jsliteral import STRING_LITERAL, LongString, evaluate, truthy, unescape_js
from harvester.page.text import clean

# Script variables worth evaluating, by the names WeChat has used over the years.
SCRIPT_NAMES = (
    "biz", "mid", "idx", "sn", "appmsgid", "itemidx",
    "msg_title", "title", "nickname", "nick_name", "author",
    "ct", "create_time", "ori_create_time", "publish_time",
    "user_name", "msg_cdn_url", "cover", "msg_desc",
    "copyright_stat", "_copyright_stat", "copyright_info", "msg_source_url",
    "is_pay_subscribe", "is_user_title", "item_show_type", "real_item_show_type", "msg_link",
    "cgiDataNew", "cgiData", "picture_page_info_list",
)  # fmt: skip
# No look-behind here (it makes the scan several times slower): checked in from_tree.
ASSIGNMENT = re.compile(
    r"(var\s+|window\.|d\.|_g\.)("
    + "|".join(sorted(SCRIPT_NAMES, key=len, reverse=True))
    + r")(?![\w$])\s*=(?!=)"
)
# Bundled libraries: skipped by what their first lines say.
LIBRARY_OPENINGS = ("use strict", "typeof exports", "define.amd", "__INLINE_SCRIPT__")
SCRIPT_TYPES = ("", "text/javascript", "application/javascript", "javascript")
LIBRARY_HEAD = 400
MAX_SLOTS = 32  # assignments kept per name; real pages have a handful

_UNSET = object()


class _Slot:
    """One `prefix.name = <expression>` in a script; the expression is read on demand."""

    __slots__ = ("_value", "position", "prefix", "source")

    def __init__(self, prefix: str, source: str, position: int):
        self.prefix = prefix
        self.source = source
        self.position = position
        self._value: Any = _UNSET

    @property
    def value(self) -> Any:
        if self._value is _UNSET:
            self._value = evaluate(self.source, self.position)
        return self._value


class ScriptData:
    """The page's script variables, in page order, each evaluated when first asked for.

    Evaluating is lazy because the big objects (`window.cgiDataNew` holds the whole
    article again) are only needed when the plain variables do not have a value.
    """

    def __init__(self, assignments: dict[str, list[_Slot]]):
        self.assignments = assignments
        self._objects: list[dict] | None = None

    @classmethod
    def from_tree(cls, tree: LexborHTMLParser) -> ScriptData:
        """Every assignment to a SCRIPT_NAMES variable in the page's data scripts, unread."""
        assignments: dict[str, list[_Slot]] = {}
        for source in _data_scripts(tree):
            for match in ASSIGNMENT.finditer(source):
                start = match.start()
                if start and (source[start - 1].isalnum() or source[start - 1] in "_$."):
                    continue  # part of a longer name: obj.d.title, xvar
                prefix = match.group(1).rstrip(". \t\r\n")
                prefix = "var" if prefix.startswith("var") else prefix
                slots = assignments.setdefault(match.group(2), [])
                if len(slots) < MAX_SLOTS:
                    slots.append(_Slot(prefix, source, match.end()))
        return cls(assignments)

    @property
    def objects(self) -> list[dict]:
        """window.cgiDataNew, then window.cgiData."""
        if self._objects is None:
            self._objects = [
                slot.value
                for name in ("cgiDataNew", "cgiData")
                for slot in self.assignments.get(name, [])
                if isinstance(slot.value, dict)
            ]
        return self._objects

    def first(
        self,
        *names: str,
        prefixes: tuple[str, ...] = ("var", "window", "d", "_g"),
        valid: re.Pattern[str] | None = None,
    ) -> str | None:
        """The first non-empty string assigned to any of names (in that order of names)."""
        for name in names:
            for slot in self.assignments.get(name, []):
                if slot.prefix not in prefixes:
                    continue
                text = clean(slot.value)
                if text and (valid is None or valid.fullmatch(text)):
                    return text
        return None

    def declared(self, *names: str) -> bool:
        """Whether the page assigns a string (even an empty one) to any of names."""
        return any(
            isinstance(slot.value, (str, LongString))
            for name in names
            for slot in self.assignments.get(name, [])
        )

    def pick(self, *names: str, key: str, valid: re.Pattern[str] | None = None) -> str | None:
        """The plain variables first; cgiDataNew's `key` only when none of them is declared
        (a declared empty variable means the page has no such value)."""
        text = self.first(*names, valid=valid)
        if text or self.declared(*names):
            return text
        return self.obj_text(key, valid=valid)

    def first_raw(self, name: str) -> Any:
        """The first non-empty value of any type assigned to name."""
        for slot in self.assignments.get(name, []):
            if truthy(slot.value) and slot.value not in ("", [], {}):
                return slot.value
        return None

    def obj(self, key: str) -> Any:
        """The first non-empty value of any type under key in the data objects."""
        for data in self.objects:
            value = data.get(key)
            if truthy(value) and value not in ("", [], {}):
                return value
        return None

    def obj_text(self, key: str, valid: re.Pattern[str] | None = None) -> str | None:
        """The first non-empty string under key in the data objects."""
        for data in self.objects:
            text = clean(data.get(key))
            if text and (valid is None or valid.fullmatch(text)):
                return text
        return None


def _data_scripts(tree: LexborHTMLParser) -> list[str]:
    """The inline scripts that may hold page data: no src, a JavaScript type, no library."""
    sources = []
    for node in tree.css("script"):
        attributes = node.attributes
        if attributes.get("src") is not None:
            continue
        if (attributes.get("type") or "").strip().lower() not in SCRIPT_TYPES:
            continue
        source = node.text(deep=True)
        head = source[:LIBRARY_HEAD]
        if not head.strip() or any(marker in head for marker in LIBRARY_OPENINGS):
            continue
        if head.lstrip().startswith("!function"):
            continue
        sources.append(source)
    return sources


def script_string(node: LexborNode, after: str) -> str | None:
    """The first string literal after `after` in a script inside node, JS-decoded."""
    for script in node.css("script"):
        source = script.text(deep=True)
        start = source.find(after)
        if start < 0:
            continue
        match = STRING_LITERAL.search(source, start + len(after))
        if match is not None:
            return clean(unescape_js(match.group()[1:-1]))
    return None
