"""harvester.mdbody: a Markdown body's images left open, as a converted body's are, and
nothing in it that could run (safe_markdown)."""

from __future__ import annotations

import pytest

from harvester.markdown import convert_template, html_to_markdown
from harvester.mdbody import markdown_template, safe_markdown

SHA = "ab" * 32
STORED = f"images/ab/{SHA}.png"
REMOTE = "https://mmbiz.qpic.cn/mmbiz_png/x(1)/640?wx_fmt=png&from=appmsg"
HTML = f'<p>正文</p><p><img src="{REMOTE.replace("&", "&amp;")}" alt="图 [1]"></p>'


def test_a_converted_body_read_back_names_the_images_its_conversion_named():
    converted = convert_template(HTML)
    again = markdown_template(converted.fill())
    assert (again.image_urls, again.fill()) == (converted.image_urls, converted.fill())


def test_remote_and_stored_images_are_named_and_filled_back_as_they_were():
    body = html_to_markdown(HTML)
    text = body + f"\n![](../../../{STORED})\n\n![](/{STORED})\n"
    template = markdown_template(text)
    assert template.image_urls == [REMOTE, STORED, STORED]
    assert template.placeholder_urls == [REMOTE, STORED]
    assert template.fill() == text.replace(f"../../../{STORED}", STORED).replace(
        f"/{STORED}", STORED
    )
    assert template.fill({REMOTE: "../../../images/cd/x.png", STORED: "../../x.png"}) == (
        "正文\n\n![图 [1]](../../../images/cd/x.png)\n\n![](../../x.png)\n\n![](../../x.png)\n"
    )


def test_images_in_code_and_other_destinations_stay_as_they_are():
    text = (
        "`![](https://mmbiz.qpic.cn/a.png)` and ![](photo.jpg)\n\n"
        "```\n![](https://mmbiz.qpic.cn/b.png)\n```\n\n![](data:image/png;base64,AAAA)\n"
    )
    template = markdown_template(text)
    assert (template.image_urls, template.markdown) == ([], text)


def test_a_stored_name_must_be_its_content_address():
    template = markdown_template(f"![](images/cd/{SHA}.png)\n")
    assert template.image_urls == []


CONVERTED = (
    "<p>正文 &lt;script&gt;x&lt;/script&gt; <code>&lt;b onclick=1&gt;</code></p>"
    '<p><a href="https://example.org/a_(b)">链接</a> <a href="tel:123">电话</a></p>'
    f'<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></pre><p><img src="{REMOTE}"></p>'
)


def test_a_body_the_converter_wrote_is_kept_byte_for_byte():
    body = html_to_markdown(CONVERTED) + f"\n![](../../../{STORED})\n"
    assert "`<b onclick=1>`" in body and "<script>alert(1)</script>" in body  # code
    assert safe_markdown(body) == body


@pytest.mark.parametrize(
    ("body", "safe"),
    [
        ("<script>x()</script>\n", "&lt;script>x()&lt;/script>\n"),
        ('前 <img src=x onerror="x()"> 后 `<b>`\n', '前 &lt;img src=x onerror="x()"> 后 `<b>`\n'),
        ('<details open ontoggle="x()">\n\n正文\n', '&lt;details open ontoggle="x()">\n\n正文\n'),
        ("<javascript:x()>\n", "&lt;javascript:x()>\n"),
        (
            "[a](javascript:x()) [b](https://ok.example)\n",
            "\\[a\\](javascript:x()) \\[b\\](https://ok.example)\n",
        ),
        ("[a](java&#x09;script:x())\n", "\\[a\\](java&#x09;script:x())\n"),
        ("[a](javascript&#58;x())\n", "\\[a\\](javascript&#58;x())\n"),
        ("[a](<JAVASCRIPT:x()>)\n", "\\[a\\](&lt;JAVASCRIPT:x()>)\n"),
        (
            "[a](vbscript:x) [b](data:text/html,x)\n",
            "\\[a\\](vbscript:x) \\[b\\](data:text/html,x)\n",
        ),
        ("[a][r]\n\n[r]: javascript:x()\n", "\\[a\\]\\[r\\]\n\n[r]: javascript:x()\n"),
        ("![i](javascript:x())\n", "!\\[i\\](javascript:x())\n"),
        ("![i](data:image/svg+xml,x)\n", "!\\[i\\](data:image/svg+xml,x)\n"),
    ],
    ids=[
        "html-block",
        "inline-html-beside-code",
        "html-block-with-handler",
        "autolink",
        "link-beside-a-safe-one",
        "entity-tab",
        "entity-colon",
        "angle-destination",
        "vbscript-and-data",
        "reference",
        "image",
        "svg-data-image",
    ],
)
def test_raw_html_and_links_that_could_run_become_text(body: str, safe: str):
    assert safe_markdown(body) == safe


def test_what_only_seemed_a_code_span_is_made_text_on_the_whole_line():
    body = "\\`<img src=x onerror=x()>` and `<b>`\n"  # an escaped backtick opens no span
    assert safe_markdown(body) == "\\`&lt;img src=x onerror=x()>` and `&lt;b>`\n"
