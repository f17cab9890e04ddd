"""harvester.mdbody: a Markdown body's images left open, as a converted body's are."""

from __future__ import annotations

from harvester.markdown import convert_template, html_to_markdown
from harvester.mdbody import markdown_template

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
