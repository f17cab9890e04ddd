"""parse_page on picture, text and video posts: small pages written here, each modeled on
the public page samples of wechat-article/wechat-article-exporter (samples/文本分享,
samples/图片分享) and the pages of the fixtures in ../shared/fixtures/wechat."""

from __future__ import annotations

from harvester.page import parse_page

# Modeled on samples/文本分享/01.html (a text post its author titled, 2025) and 02.html
# (an untitled one): `text_page_info.is_user_title`, `window.is_user_title`, and the
# `<h1 id="js_text_title">` WeChat renders only for a titled post.
TEXT_POST = """<!DOCTYPE html><html><head><title></title>HEAD</head><body>
<div id="js_content">HEADING<p id="js_text_desc"></p></div>
<script type="text/javascript" nonce="1">
    window.biz = '' || 'MzIyNjMxOTY0NA==';
    window.item_show_type = '10' || '';
    window.mid = '' || '' || '2247400002';
    window.idx = '' || '' || '1';
    window.ct = '1764000000' || '';
    window.msg_title = window.title = 'TITLE' || '';
    VARIABLE
    window.cgiDataNew = {
        nick_name: JsDecode('文字账号'),
        title: JsDecode('TITLE'),
        text_page_info: {
            content_noencode: JsDecode('第一行的话。\\x0a\\x0a第二段'),
            FLAG
        },
    };
</script></body></html>"""


def text_post(
    title: str = "AI编程的危与机",
    flag: str = "",
    variable: str = "",
    heading: str = "",
    head: str = "",
) -> str:
    return (
        TEXT_POST.replace("TITLE", title)
        .replace("FLAG", flag)
        .replace("VARIABLE", variable)
        .replace("HEADING", heading)
        .replace("HEAD", head)
    )


def test_a_text_post_its_author_titled_takes_its_own_title_not_its_first_line():
    page = parse_page(text_post(flag="is_user_title: '1' * 1,"))
    assert (page.kind, page.title, page.body_html) == (
        "text",
        "AI编程的危与机",
        "<p>第一行的话。</p><p>第二段</p>",
    )


def test_a_text_post_titled_by_its_is_user_title_variable_alone_takes_its_own_title():
    page = parse_page(text_post(variable="window.is_user_title = '1' * 1 || 0;"))
    assert page.title == "AI编程的危与机"


def test_a_text_post_with_the_own_title_heading_and_no_flag_takes_its_own_title():
    heading = '<h1 id="js_text_title" class="rich_media_title "></h1>'
    assert parse_page(text_post(heading=heading)).title == "AI编程的危与机"


def test_a_text_post_whose_flag_says_untitled_takes_its_first_line_despite_a_heading():
    heading = '<h1 id="js_text_title" class="rich_media_title "></h1>'
    page = parse_page(text_post(variable="window.is_user_title = '0' * 1 || 0;", heading=heading))
    assert page.title == "第一行的话。"


def test_an_untitled_text_post_takes_its_first_line_not_its_whole_text_in_msg_title():
    whole = "第一行的话。\\x0a\\x0a第二段"
    page = parse_page(text_post(title=whole, flag="is_user_title: '0' * 1,"))
    assert page.title == "第一行的话。"


def test_a_titled_text_post_with_its_title_only_in_og_title_takes_it():
    head = '<meta property="og:title" content="只在标签">'
    html = text_post(title="", flag="is_user_title: '1' * 1,", head=head)
    assert parse_page(html).title == "只在标签"
