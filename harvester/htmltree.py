"""A light element tree for the Markdown converter, copied out of a lexbor tree.

The converter (a markdownify subclass) walks BeautifulSoup-like nodes. Serialising the
pre-cleaned lexbor tree and parsing it again with BeautifulSoup cost a third of the
conversion, mostly in BeautifulSoup's per-tag bookkeeping. These classes offer the part of
the bs4 API the converter reads (`name`, `attrs`, `get`, `contents`, `parent`,
`previous_siblings`, `descendants`, `get_text`, `find`, `find_all`, `find_parent`,
`extract`), built in one pass. Text reads as that re-parse gave it: adjacent text nodes
joined, NBSP as a space, comments dropped, `class` a list of words.

Nodes are left out while copying (`from_lexbor`'s `copied_as`) because that costs one
visit a node, where lexbor's unwrap moves the whole subtree (quadratic in depth). The tree
is at most `max_depth` deep (the document is level 1): an element that would sit at that
level with anything in it is unwrapped too, all text kept, those named in `blocks` set
apart by a `<br>` each side, so no page nests deeper than its readers recurse.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from typing import Any

DOCUMENT = "[document]"  # the root's name, as BeautifulSoup calls it


class Text(str):
    """A text node."""

    __slots__ = ()


class Element:
    """An element: a tag name, its attributes and its children (Text or Element)."""

    __slots__ = ("attrs", "contents", "name", "parent")

    def __init__(self, name: str, attrs: dict[str, str | list[str]], parent: Element | None):
        self.name = name
        self.attrs = attrs
        self.parent = parent
        self.contents: list[Text | Element] = []

    def get(self, key: str, default: str | list[str] | None = None) -> str | list[str] | None:
        return self.attrs.get(key, default)

    @property
    def previous_siblings(self) -> Iterator[Text | Element]:
        """The nodes before this one in its parent, nearest first."""
        if self.parent is None:
            return iter(())
        siblings = self.parent.contents
        index = next(i for i, node in enumerate(siblings) if node is self)
        return reversed(siblings[:index])

    @property
    def descendants(self) -> Iterator[Text | Element]:
        stack = list(reversed(self.contents))
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, Element):
                stack.extend(reversed(node.contents))

    def get_text(self) -> str:
        return "".join(node for node in self.descendants if isinstance(node, Text))

    def find_all(self, names: str | tuple[str, ...], recursive: bool = True) -> list[Element]:
        wanted = (names,) if isinstance(names, str) else names
        nodes = self.descendants if recursive else iter(self.contents)
        return [node for node in nodes if isinstance(node, Element) and node.name in wanted]

    def find(self, name: str) -> Element | None:
        return next(iter(self.find_all(name)), None)

    def find_parent(self, names: str | tuple[str, ...]) -> Element | None:
        wanted = (names,) if isinstance(names, str) else names
        parent = self.parent
        while parent is not None and parent.name not in wanted:
            parent = parent.parent
        return parent

    def extract(self) -> Element:
        if self.parent is not None:
            siblings = self.parent.contents
            del siblings[next(i for i, node in enumerate(siblings) if node is self)]
            self.parent = None
        return self


def keep_every_attribute(_tag: str) -> None:
    return None


def as_it_is(node) -> tuple[str, ...]:
    return (node.tag,)


def from_lexbor(
    body,
    kept_attributes: Callable[[str], Container[str] | None] = keep_every_attribute,
    copied_as: Callable[[Any], tuple[str, ...]] = as_it_is,
    max_depth: int | None = None,
    blocks: Container[str] = (),
    left_out: Container[str] = (),
) -> Element:
    """The light tree of a lexbor `<body>` node, under a document and an `<html>` element
    (where BeautifulSoup's lxml parser puts a fragment).

    `kept_attributes(tag)` names the attributes copied for a tag (None: all of them), so
    the caller need not strip the others from the lexbor tree first. `copied_as(node)`
    names the elements a node becomes, outermost first, its children going into the last
    and its attributes to the one of its own name (`("p", "b")`: a paragraph whose content
    is bold); none leaves the node out, its children copied in its place, as every node
    named in `left_out` is, unasked. The tree is at most `max_depth` deep, `blocks` the
    tags set apart once unwrapped (module docstring)."""
    document = Element(DOCUMENT, {}, None)
    html = Element("html", {}, document)
    document.contents.append(html)
    top = Element("body", _attrs(body, kept_attributes("body")), html)
    html.contents.append(top)
    deepest = max_depth if max_depth is not None else float("inf")
    fragmented: dict[int, Element] = {}  # elements whose text came in pieces
    stack = [(body, top, 3)]
    while stack:
        node, element, depth = stack.pop()
        contents = element.contents
        # The children of this element, through those left out (and whether to set a
        # capped block apart once its children are in).
        pending = [(node.iter(include_text=True), False)]
        while pending:
            children, set_apart = pending[-1]
            for child in children:
                tag = child.tag
                if tag == "-text":
                    _add_text(child, element, fragmented)
                    continue
                if tag == "-comment":
                    continue
                names = () if tag in left_out else copied_as(child)
                if not names:
                    first = child.child
                    if first is None:
                        continue
                    if first.next is None and first.tag == "-text":  # `<span leaf>text</span>`
                        _add_text(first, element, fragmented)
                        continue
                    pending.append((child.iter(include_text=True), False))
                    break
                if depth + len(names) >= deepest and child.child is not None:
                    if tag in blocks:
                        contents.append(Element("br", {}, element))
                    pending.append((child.iter(include_text=True), tag in blocks))
                    break
                parent = element
                for name in names:
                    attrs = _attrs(child, kept_attributes(name)) if name == tag else {}
                    sub = Element(name, attrs, parent)
                    parent.contents.append(sub)
                    parent = sub
                stack.append((child, parent, depth + len(names)))
            else:
                pending.pop()
                if set_apart:
                    contents.append(Element("br", {}, element))
    for element in fragmented.values():
        element.contents = _joined(element.contents)
    return document


def _add_text(node: Any, element: Element, fragmented: dict[int, Element]) -> None:
    """A text node's text at the end of `element` (noting when it comes in pieces)."""
    text = (node.text_content or "").replace("\xa0", " ")
    if text:
        contents = element.contents
        if contents and isinstance(contents[-1], Text):
            fragmented[id(element)] = element
        contents.append(Text(text))


def _joined(contents: list[Text | Element]) -> list[Text | Element]:
    """Adjacent text nodes as one, joined once (not grown a piece at a time)."""
    out: list[Text | Element] = []
    run: list[str] = []
    for node in contents:
        if isinstance(node, Text):
            run.append(node)
            continue
        if run:
            out.append(Text("".join(run)))
            run = []
        out.append(node)
    if run:
        out.append(Text("".join(run)))
    return out


def _attrs(node, kept: Container[str] | None) -> dict[str, str | list[str]]:
    attrs: dict[str, str | list[str]] = {}
    if kept is not None and not kept:
        return attrs
    for key, value in node.attributes.items():
        if kept is not None and key not in kept:
            continue
        value = (value or "").replace("\xa0", " ")
        attrs[key] = value.split() if key == "class" else value
    return attrs
