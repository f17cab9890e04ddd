"""The light tree the converter walks, built from a lexbor tree."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from harvester.htmltree import DOCUMENT, Element, Text, from_lexbor


def tree_of(html: str) -> Element:
    return from_lexbor(LexborHTMLParser(html).body)


def body_of(document: Element) -> Element:
    [html] = document.contents
    [body] = html.contents
    return body


def test_a_fragment_sits_in_body_in_html_in_the_document_as_bs4_puts_it():
    document = tree_of("<p>a</p>")
    assert document.name == DOCUMENT
    assert [document.contents[0].name, body_of(document).name] == ["html", "body"]
    assert body_of(document).parent.parent is document


def test_text_left_in_pieces_by_unwrapping_reads_as_one_text_node():
    parsed = LexborHTMLParser("<p>神经<span leaf>再生</span>过程</p>")
    parsed.body.unwrap_tags(["span"])
    [p] = body_of(from_lexbor(parsed.body)).contents
    assert p.contents == ["神经再生过程"]
    assert type(p.contents[0]) is Text


def test_nbsp_is_a_space_in_text_and_attributes():
    [a] = body_of(tree_of('<a title="x&nbsp;y">a&nbsp;b</a>')).contents
    assert (a.contents, a.get("title")) == (["a b"], "x y")


def test_comments_are_left_out():
    [p] = body_of(tree_of("<p>a<!-- note -->b</p>")).contents
    assert p.contents == ["ab"]


def test_class_is_a_list_of_words_and_other_attributes_strings():
    [code] = body_of(tree_of('<code class="lang-py  hljs" data-lang="py" hidden>x</code>')).contents
    assert code.attrs == {"class": ["lang-py", "hljs"], "data-lang": "py", "hidden": ""}


def test_find_all_find_and_find_parent():
    body = body_of(tree_of("<table><tr><td><ul><li>a</li></ul></td></tr></table>"))
    [table] = body.contents
    [li] = table.find_all("li")
    assert [e.name for e in table.find_all(("td", "li"))] == ["td", "li"]
    assert table.find_all("tr", recursive=False) == []
    assert table.find("ul") is li.parent
    assert li.find_parent(("td", "th")).name == "td"
    assert li.find_parent("table") is table


def test_previous_siblings_nearest_first_and_get_text():
    [p] = body_of(tree_of("<p>a<b>b</b> <i>c</i></p>")).contents
    b, _, i = p.contents[1:]
    assert list(i.previous_siblings) == [" ", b, "a"]
    assert p.get_text() == "ab c"


def test_extract_removes_the_element_from_its_parent():
    [ul] = body_of(tree_of("<ul><li>a</li><li>b</li></ul>")).contents
    first, second = ul.contents
    assert first.extract() is first
    assert (ul.contents, first.parent) == ([second], None)


def test_only_the_attributes_named_for_a_tag_are_copied():
    def kept(tag: str) -> frozenset[str] | None:
        return None if tag == "img" else frozenset({"href"})

    parsed = LexborHTMLParser('<a href="/x" style="c" id="i"><img src="s" alt="a" data-w="1"></a>')
    [a] = body_of(from_lexbor(parsed.body, kept)).contents
    assert a.attrs == {"href": "/x"}
    assert a.contents[0].attrs == {"src": "s", "alt": "a", "data-w": "1"}


def test_a_node_can_be_left_out_or_copied_as_elements_around_its_content():
    def copied_as(node) -> tuple[str, ...]:
        return {"span": (), "p": ("p", "b")}.get(node.tag, (node.tag,))

    parsed = LexborHTMLParser('<p title="t">a<span>b<i>c</i></span></p>')
    [p] = body_of(from_lexbor(parsed.body, copied_as=copied_as)).contents
    [b] = p.contents
    assert (p.attrs, b.name, b.attrs) == ({"title": "t"}, "b", {})
    assert [n if isinstance(n, str) else n.name for n in b.contents] == ["ab", "i"]
    assert b.parent is p and b.contents[1].parent is b
