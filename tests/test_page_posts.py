"""parse_page on picture, text and video posts: small pages written here, each modeled on
the public page samples of wechat-article/wechat-article-exporter (samples/文本分享,
samples/图片分享) and the pages of the fixtures in ../shared/fixtures/wechat."""

from __future__ import annotations

from harvester.markdown import html_to_markdown
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


# Modeled on how public tools read 2024–2026 video posts (item_show_type 5): the title in
# `<h1 id="js_video_page_title">` (the `__setTitle` of WeChat's own page script, as quoted
# in public repositories), the description in `<meta name="description">` with `\x0a`
# escapes (read so by parseWeChatArticleHtml-style parsers that test for that <h1>). The
# description block with its expand button inside #js_content is written here: no served
# page with one was found, so its markup is an assumption.
VIDEO_POST = """<!DOCTYPE html><html><head><title></title>
<meta name="description" content="DESCRIPTION">
</head><body>
<h1 id="js_video_page_title" class="rich_media_title">城市的清晨</h1>
<div id="js_content">BODY</div>
<script type="text/javascript" nonce="1">
    window.biz = '' || 'MzU2NTQzMjQ2NA==';
    window.item_show_type = '5' || '';
    window.mid = '' || '' || '2247500001';
    window.idx = '' || '' || '1';
    window.ct = '1764000000' || '';
    window.msg_title = window.title = '城市的清晨' || '';
    window.cgiData = { vid: "c1338f604ll" };
</script></body></html>"""

DESCRIPTION = "早上六点的街道。\\x0a拍摄：小王"
DESCRIPTION_BLOCK = (
    '<div class="video_desc_wrp"><div class="video_desc js_video_desc">早上六点的街道。<br>'
    '拍摄：小王</div><button class="video_desc_more" type="button">展开</button></div>'
)


def video_post(body: str = "", description: str = DESCRIPTION) -> str:
    return VIDEO_POST.replace("DESCRIPTION", description).replace("BODY", body)


def test_a_video_post_keeps_its_description_from_its_meta_tag_before_the_video_line():
    page = parse_page(video_post())
    assert (page.kind, page.body_html) == (
        "video",
        "<p>早上六点的街道。<br>拍摄：小王</p>"
        '<p><a href="https://v.qq.com/x/page/c1338f604ll.html">视频：城市的清晨</a></p>',
    )


def test_a_video_post_drops_its_description_expand_button_and_does_not_repeat_it():
    page = parse_page(video_post(body=DESCRIPTION_BLOCK))
    assert page.body_html == (
        '<div class="video_desc_wrp"><div class="video_desc js_video_desc">早上六点的街道。<br>'
        "拍摄：小王</div></div>"
        '<p><a href="https://v.qq.com/x/page/c1338f604ll.html">视频：城市的清晨</a></p>'
    )


def test_a_video_posts_expand_label_in_any_element_never_reaches_the_markdown():
    body = '<p><a href="javascript:;"><span>展开</span></a></p><span>收起</span>'
    markdown = html_to_markdown(parse_page(video_post(body=body)).body_html)
    assert markdown == (
        "早上六点的街道。\\\n拍摄：小王\n\n[视频：城市的清晨](https://v.qq.com/x/page/c1338f604ll.html)\n"
    )


def test_a_video_posts_description_and_not_its_expand_label_reach_the_markdown():
    markdown = html_to_markdown(parse_page(video_post(body=DESCRIPTION_BLOCK)).body_html)
    assert "早上六点的街道。" in markdown and "拍摄：小王" in markdown and "展开" not in markdown


# Modeled on samples/图片分享/01.html (window.picture_page_info_list, 2025) and 02.html
# (cgiDataNew.picture_page_info_list with `is_qr_code: '0' * 1`) of
# wechat-article/wechat-article-exporter; a filled `live_photo.format_info` (entries with
# `url` and `file_size`) is shaped as public picture-post parsers read it (the largest
# `file_size` is the original).
PICTURE_POST = """<!DOCTYPE html><html><head><title></title></head><body>
<div id="js_image_content" class="share_content_page"></div>
<script type="text/javascript" nonce="1">
    window.biz = '' || 'MzI2NDk5NzA0Mw==';
    window.item_show_type = '8' || '';
    window.mid = '' || '' || '2248800002';
    window.idx = '' || '' || '1';
    window.ct = '1780000000' || '';
    window.msg_title = '三张图' || '';
    window.picture_page_info_list = [
        {
            width: '1201' * 1,
            cdn_url: 'https://mmbiz.qpic.cn/mmbiz_jpg/still/0?wx_fmt=jpeg\\x26amp;from=appmsg',
            live_photo: {
                vid: 'wxv_400000000000000001',
                type: '1' * 1,
                format_info: [
                    { url: 'https://mpvideo.qpic.cn/small.mp4', file_size: '90000' },
                    {
                        url: 'https://mpvideo.qpic.cn/big.mp4?a=1\\x26amp;b=2',
                        file_size: '1200000',
                    },
                ],
            },
            is_qr_code: '0' * 1,
        },
        {
            cdn_url: 'https://mmbiz.qpic.cn/mmbiz_png/qrcode/0?wx_fmt=png',
            live_photo: { vid: '', type: '' * 1, format_info: [] },
            is_qr_code: '1' * 1,
        },
        {
            cdn_url: 'https://mmbiz.qpic.cn/mmbiz_png/plain/0?wx_fmt=png',
            live_photo: { vid: '', type: '' * 1, format_info: [] },
            is_qr_code: '0' * 1,
        },
    ];
</script></body></html>"""


def test_a_picture_post_keeps_every_picture_its_qr_code_marked_its_live_photo_linked():
    page = parse_page(PICTURE_POST)
    assert (page.kind, page.body_html) == (
        "picture",
        '<p><a href="https://mpvideo.qpic.cn/big.mp4?a=1&amp;b=2">'
        '<img src="https://mmbiz.qpic.cn/mmbiz_jpg/still/0?wx_fmt=jpeg&amp;from=appmsg"'
        ' alt="实况"></a></p>'
        '<p><img src="https://mmbiz.qpic.cn/mmbiz_png/qrcode/0?wx_fmt=png" alt="二维码"></p>'
        '<p><img src="https://mmbiz.qpic.cn/mmbiz_png/plain/0?wx_fmt=png"></p>',
    )


def test_a_picture_posts_live_photo_and_qr_code_in_markdown():
    assert html_to_markdown(parse_page(PICTURE_POST).body_html) == (
        "[![实况](https://mmbiz.qpic.cn/mmbiz_jpg/still/0?wx_fmt=jpeg&from=appmsg)]"
        "(https://mpvideo.qpic.cn/big.mp4?a=1&b=2)\n\n"
        "![二维码](https://mmbiz.qpic.cn/mmbiz_png/qrcode/0?wx_fmt=png)\n\n"
        "![](https://mmbiz.qpic.cn/mmbiz_png/plain/0?wx_fmt=png)\n"
    )


def test_a_live_photo_without_a_usable_format_is_its_still_alone():
    html = PICTURE_POST.replace("https://mpvideo.qpic.cn/small.mp4", "").replace(
        "https://mpvideo.qpic.cn/big.mp4?a=1\\x26amp;b=2", "javascript:alert(1)"
    )
    assert "mpvideo" not in html
    assert parse_page(html).body_html.startswith(
        '<p><img src="https://mmbiz.qpic.cn/mmbiz_jpg/still/0?wx_fmt=jpeg&amp;from=appmsg"></p>'
    )


def test_a_text_post_flagged_titled_with_a_bare_number_takes_its_own_title():
    assert parse_page(text_post(flag="is_user_title: 1,")).title == "AI编程的危与机"


def test_a_qr_code_flagged_with_a_bare_number_is_marked():
    html = PICTURE_POST.replace("is_qr_code: '1' * 1", "is_qr_code: 1")
    assert "is_qr_code: 1," in html
    assert '/qrcode/0?wx_fmt=png" alt="二维码">' in parse_page(html).body_html
