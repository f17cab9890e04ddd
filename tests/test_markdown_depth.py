"""Deep nesting (issue 11, item 9): every level of a page is visited once, the converter's
tree is never deeper than `MAX_DEPTH`, and no text is lost to either. Time is measured in
scripts/bench.py (`convert.nesting`), not here."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from harvester.htmltree import Element, from_lexbor
from harvester.markdown import html_to_markdown
from harvester.markdown.api import MAX_DEPTH
from harvester.markdown.preclean import Copying


def depth(element: Element) -> int:
    deepest, pending = 0, [(element, 1)]
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        pending.extend((c, level + 1) for c in node.contents if isinstance(c, Element))
    return deepest


@pytest.mark.parametrize("spans", [20_000, 40_000])
def test_nested_spans_convert_to_their_whole_text(spans):
    html = "<section>" + "<span leaf>字" * spans + "</span>" * spans + "</section>"
    assert html_to_markdown(html) == "字" * spans + "\n"


def test_nested_spans_are_left_out_as_the_tree_is_copied_in_one_visit_a_node():
    html = "<section>" + "<span>字" * 40_000 + "</span>" * 40_000 + "</section>"
    root = LexborHTMLParser(html).body
    tree = from_lexbor(root, copied_as=Copying(root).copied_as)
    [body] = tree.contents[0].contents
    [section] = body.contents
    assert section.contents == ["字" * 40_000]
    assert depth(tree) == 4  # document, html, body, section


def test_forty_thousand_nested_bold_runs_are_one_bold_run():
    html = "<p>" + "<b>粗" * 40_000 + "</b>" * 40_000 + "</p>"
    assert html_to_markdown(html) == "**" + "粗" * 40_000 + "**\n"


def test_elements_below_the_depth_cap_are_unwrapped_their_blocks_set_apart():
    html = "<div>a<div>b<div>c<div>d<p>e<b>f</b></p></div></div></div></div>"
    tree = from_lexbor(LexborHTMLParser(html).body, max_depth=6, blocks={"div", "p"})
    [body] = tree.contents[0].contents
    [outer] = body.contents
    inner = outer.contents[1]
    assert [outer.name, outer.contents[0], inner.name] == ["div", "a", "div"]  # levels 4, 5
    names = [n if isinstance(n, str) else n.name for n in inner.contents]
    assert names == ["b", "br", "c", "br", "d", "br", "ef", "br", "br", "br"]
    assert depth(tree) == 6


def test_deeply_nested_quotes_keep_every_line_and_at_most_the_cap_of_markers():
    levels = 3_000
    html = "<blockquote>行" * levels + "</blockquote>" * levels
    markdown = html_to_markdown(html)
    lines = markdown.splitlines()
    texts = [line.rsplit(" ", 1)[-1].rstrip("\\") for line in lines if "行" in line]
    assert texts == ["行"] * levels
    deepest = max(line.count(">") for line in lines)
    assert deepest == MAX_DEPTH - 4  # below document, html and body, above a leaf
