"""parse_page: the real saved pages in ../shared/fixtures/wechat, then small pages written here."""

from __future__ import annotations

import functools
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.errors import InputError
from harvester.model import ARTICLE_KINDS, NOT_ARTICLE_KINDS, Page
from harvester.page import parse_page

FIXTURES = Path(__file__).parents[2] / "shared" / "fixtures" / "wechat"


def fixture_text(name: str) -> str:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"../shared/fixtures not present: {path} is missing")
    return path.read_text(encoding="utf-8")


@functools.cache
def _parsed(name: str) -> Page:
    return parse_page(fixture_text(name))


def parsed(name: str) -> Page:
    """The fixture's Page, parsed once per session (the big ones are 4 MB)."""
    if not (FIXTURES / name).is_file():
        pytest.skip(f"../shared/fixtures not present: {FIXTURES / name} is missing")
    return _parsed(name)


# ------------------------------------------------------------------ the real pages, by kind

KINDS = {
    "article-2017-code-blocks.html": "article",
    "article-2018-background-image.html": "article",
    "article-2018-mpvoice-audio.html": "article",
    "article-2018-qqmusic-original.html": "article",
    "article-2018-video-iframe.html": "article",
    "article-2020-inline-mp-links.html": "article",
    "article-2022-local-news.html": "article",
    "article-2024-reprint-code-blocks.html": "article",
    "article-2025-mpaudio-embed.html": "article",
    "article-2025-original-weekly-images-inline-code.html": "article",
    "article-2026-pay-subscribe-preview.html": "article",
    "content-unavailable.html": "unavailable",
    "deleted-by-author-en.html": "deleted",
    "deleted-by-author-zh.html": "deleted",
    "expired-link-2018.html": "expired",
    "picture-post-2018-item-show-type-8.html": "picture",
    "picture-post-2025-item-show-type-8.html": "picture",
    "share-2019-recommend-with-share-notice.html": "share",
    "text-post-2020-item-show-type-10.html": "text",
    "verify-2018-freq-limit-js-escaped.html": "verification",
    "verify-2026-secitptpage-captcha.html": "verification",
    "video-post-2018-item-show-type-5.html": "video",
    "violation-blocked.html": "blocked",
}
NOT_AN_ARTICLE_PAGE = "profile-history-2017-msglist.html"

# file: (title, account, published_at, biz, mid, idx, sn)
METADATA = {
    "article-2017-code-blocks.html": (
        "当你在浏览器地址栏输入Google.com并按下回车之后都发生了什么？",
        "技术风向标",
        "2017-07-31T20:05:40+08:00",
        "MzA3NzM2Mjc4Mw==",
        "2650248852",
        "1",
        "b24a1e5cea83146c87965883ea809100",
    ),
    "article-2018-background-image.html": (
        "4月6日周五【新闻速览一分钟】",
        "华商报",
        "2018-04-06T06:56:20+08:00",
        "ODUzMjkwMzYx",
        "2654593305",
        "1",
        None,
    ),
    "article-2018-mpvoice-audio.html": (
        "语音 | 早安武汉〔2018.3.19 周一〕",
        "长江日报",
        "2018-03-19T05:30:00+08:00",
        "MjM5ODAyNTcwMA==",
        "2651788393",
        "1",
        None,
    ),
    "article-2018-qqmusic-original.html": (
        "关于音乐",
        "闲云野鹤古刹",
        "2018-04-07T22:21:55+08:00",
        "MzIwOTc2ODc1NQ==",
        "2247484727",
        "1",
        None,
    ),
    "article-2018-video-iframe.html": (
        "【视频】石榴花开",
        "共产党员",
        "2018-03-20T11:19:59+08:00",
        "MzA4ODUzNjAxOA==",
        "2671068104",
        "7",
        None,
    ),
    "article-2020-inline-mp-links.html": (
        "两家大行行长空缺",
        "轻金融",
        "2020-12-24T22:02:09+08:00",
        "MzIwNjU2ODk1MQ==",
        "2247497639",
        "1",
        "bba35c164cbae04da8d78808151d35aa",
    ),
    "article-2022-local-news.html": (
        "绥德：33名退役军人被表彰",
        "掌上绥德",
        "2022-07-31T21:34:31+08:00",
        "MzAxMzgxNzUxOA==",
        "2650804290",
        "8",
        "d625de357b53f96d710aca4e6ec7f57c",
    ),
    "article-2024-reprint-code-blocks.html": (
        "20分钟带你vue转react",
        "前端欧阳",
        "2024-10-28T09:52:46+08:00",
        "MzkzMzYzNzMzMQ==",
        "2247486005",
        "1",
        "2610c6a11880a9e0fa155ca5d553fb23",
    ),
    "article-2025-mpaudio-embed.html": (
        "睡前数学知识点｜Day15：疯狂星期四，V你一个知识点：定积分核心公式~",
        "金榜时代官微",
        "2025-12-04T18:00:51+08:00",
        "MzIzNDcyMTI5MQ==",
        "2247664546",
        "2",
        "cf3b894cff1fe9892fb0598a40c465fb",
    ),
    "article-2025-original-weekly-images-inline-code.html": (
        "科技爱好者周刊#372：软件界面如何设计",
        "阮一峰的网络日志",
        "2025-11-07T08:31:48+08:00",
        "MzI4NjAxNjY4Nw==",
        "2650242275",
        "1",
        "522b4a6728fcde7b55e73a5568e2c028",
    ),
    "article-2026-pay-subscribe-preview.html": (
        "来聊聊我心目中近三年的仙草（2022-2025）",
        "小说拾遗",
        "2026-04-01T18:13:05+08:00",
        "MzI2MDg2NjAwMg==",
        "2247495124",
        "1",
        "9ff9ed1b4964b6af20087a8041e7795f",
    ),
    "picture-post-2018-item-show-type-8.html": (
        "分享图片",
        "小道消息",
        "2018-08-14T23:06:18+08:00",
        "MjM5ODIyMTE0MA==",
        "2650971238",
        "1",
        None,
    ),
    "picture-post-2025-item-show-type-8.html": (
        "新能源车均价创6年新低，价格战「寒气」侵蚀供应链",
        "36氪",
        "2025-11-05T18:30:00+08:00",
        "MzI2NDk5NzA0Mw==",
        "2248864730",
        "1",
        "875c3bbeea8cafa2728a9f53c19b49a3",
    ),
    "share-2019-recommend-with-share-notice.html": (
        "和死神赛跑：趁父亲还在世，我想用人工智能留住他",
        "阮一峰的网络日志",
        "2019-11-25T20:07:23+08:00",
        "MzI4NjAxNjY4Nw==",
        "2650222329",
        "1",
        "3d0e7410c058616169b7cb9c59e130ea",
    ),
    "text-post-2020-item-show-type-10.html": (
        "大家好，我是轩辕之风，这是新的账号，和原来是同样的名字，"
        "我没有卖号哈，只是把主体迁移到我自己名下来，之前一直挂靠在朋友…",
        "轩辕的编程宇宙",
        "2020-05-26T18:10:13+08:00",
        "MzIyNjMxOTY0NA==",
        "2247483649",
        "1",
        "5141d51b3aec67d697c29ffe7431a22a",
    ),
    "video-post-2018-item-show-type-5.html": (
        "今天的推送，会动！",
        "咪蒙",
        "2018-04-28T22:36:35+08:00",
        "MzU2NTQzMjQ2NA==",
        "2247489928",
        "1",
        "cb266318c94dfa8f4bfa26263630acee",
    ),
}
ORIGINAL = {
    "article-2017-code-blocks.html": False,
    "article-2018-background-image.html": False,
    "article-2018-mpvoice-audio.html": False,
    "article-2018-qqmusic-original.html": True,
    "article-2018-video-iframe.html": False,
    "article-2020-inline-mp-links.html": False,
    "article-2022-local-news.html": False,
    "article-2024-reprint-code-blocks.html": False,
    "article-2025-mpaudio-embed.html": False,
    "article-2025-original-weekly-images-inline-code.html": True,
    "article-2026-pay-subscribe-preview.html": True,
    "picture-post-2018-item-show-type-8.html": None,
    "picture-post-2025-item-show-type-8.html": False,
    "share-2019-recommend-with-share-notice.html": False,
    "text-post-2020-item-show-type-10.html": False,
    "video-post-2018-item-show-type-5.html": None,
}
AUTHORS = {
    "article-2017-code-blocks.html": None,
    "article-2018-background-image.html": "🌏华商君",
    "article-2018-mpvoice-audio.html": "读武汉关注☞",
    "article-2018-qqmusic-original.html": "闲云野鹤",
    "article-2018-video-iframe.html": None,
    "article-2020-inline-mp-links.html": "轻金融",
    "article-2022-local-news.html": None,
    "article-2024-reprint-code-blocks.html": "Dolphin海豚",
    "article-2025-mpaudio-embed.html": "小榜",
    "article-2025-original-weekly-images-inline-code.html": "阮一峰",
    "article-2026-pay-subscribe-preview.html": "十一",
    "share-2019-recommend-with-share-notice.html": None,
}
SOURCE_URLS = {
    "article-2017-code-blocks.html": "https://github.com/skyline75489/what-happens-when-zh_CN",
    "article-2025-original-weekly-images-inline-code.html": (
        "https://www.ruanyifeng.com/blog/2025/11/weekly-issue-372.html"
    ),
    "article-2024-reprint-code-blocks.html": None,
    "article-2026-pay-subscribe-preview.html": None,
}
BODY_TEXT = {
    "article-2017-code-blocks.html": "本文试图回答一个古老的面试问题",
    "article-2018-background-image.html": "欢迎分享到朋友圈",
    "article-2018-mpvoice-audio.html": "<mpvoice ",
    "article-2018-qqmusic-original.html": "文艺青年消遣有四大法宝",
    "article-2018-video-iframe.html": "（来源：新华社）",
    "article-2020-inline-mp-links.html": "工商银行行长谷澍拟接替周慕冰",
    "article-2022-local-news.html": "7月29日上午，在第95个“八一”建军节来临之际",
    "article-2024-reprint-code-blocks.html": "前言",
    "article-2025-mpaudio-embed.html": "定积分的核心公式与解题技巧",
    "article-2025-original-weekly-images-inline-code.html": "这里记录每周值得分享的科技内容",
    "article-2026-pay-subscribe-preview.html": "本篇的盘点主要是基于上一篇",
    "video-post-2018-item-show-type-5.html": "今天的推送，会动！",
    "text-post-2020-item-show-type-10.html": "届时就恢复正常可以访问了。",
}


def test_every_saved_html_page_has_an_expected_kind():
    if not FIXTURES.is_dir():
        pytest.skip(f"../shared/fixtures not present: {FIXTURES} is missing")
    on_disk = {path.name for path in FIXTURES.glob("*.html")}
    assert on_disk == {*KINDS, NOT_AN_ARTICLE_PAGE}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_saved_page_kind(name):
    assert parsed(name).kind == KINDS[name]


def test_account_history_page_is_not_an_article():
    with pytest.raises(InputError, match=r"^no WeChat article content found$"):
        parse_page(fixture_text(NOT_AN_ARTICLE_PAGE))


@pytest.mark.parametrize("name", sorted(METADATA))
def test_saved_page_title(name):
    assert parsed(name).title == METADATA[name][0]


@pytest.mark.parametrize("name", sorted(METADATA))
def test_saved_page_account(name):
    assert parsed(name).account == METADATA[name][1]


@pytest.mark.parametrize("name", sorted(METADATA))
def test_saved_page_publish_time_is_china_time(name):
    assert parsed(name).published_at.isoformat() == METADATA[name][2]


@pytest.mark.parametrize("name", sorted(METADATA))
def test_saved_page_biz_mid_idx_sn(name):
    page = parsed(name)
    assert (page.biz, page.mid, page.idx, page.sn) == METADATA[name][3:]


@pytest.mark.parametrize("name", sorted(METADATA))
def test_saved_page_url_is_canonical(name):
    biz, mid, idx, sn = METADATA[name][3:]
    expected = f"https://mp.weixin.qq.com/s?__biz={biz}&mid={mid}&idx={idx}"
    assert parsed(name).url == expected + (f"&sn={sn}" if sn else "")


@pytest.mark.parametrize("name", sorted(ORIGINAL))
def test_saved_page_original_flag(name):
    assert parsed(name).original is ORIGINAL[name]


@pytest.mark.parametrize("name", sorted(AUTHORS))
def test_saved_page_author(name):
    assert parsed(name).author == AUTHORS[name]


@pytest.mark.parametrize("name", sorted(SOURCE_URLS))
def test_saved_page_source_url(name):
    assert parsed(name).source_url == SOURCE_URLS[name]


@pytest.mark.parametrize("name", sorted(BODY_TEXT))
def test_saved_page_body_holds_its_text(name):
    assert BODY_TEXT[name] in parsed(name).body_html


@pytest.mark.parametrize(
    "name", sorted(name for name, kind in KINDS.items() if kind in ("article", "video"))
)
def test_saved_article_body_has_no_script_or_style(name):
    body = parsed(name).body_html
    assert (body.count("<script"), body.count("<style")) == (0, 0)


def test_paid_article_is_marked_paid():
    assert parsed("article-2026-pay-subscribe-preview.html").paid is True


@pytest.mark.parametrize(
    "name", sorted(name for name in METADATA if name != "article-2026-pay-subscribe-preview.html")
)
def test_free_articles_are_not_paid(name):
    assert parsed(name).paid is False


def test_paid_article_body_is_the_free_preview():
    body = parsed("article-2026-pay-subscribe-preview.html").body_html
    assert "如果觉得还不错，记得点个赞。感谢~" in body


def test_short_link_the_page_gives_for_itself_is_kept():
    page = parsed("article-2025-original-weekly-images-inline-code.html")
    assert page.short_url == "https://mp.weixin.qq.com/s/tr38EieqyftubIx2FMWUWw"


def test_account_id_is_the_gh_user_name():
    assert parsed("article-2017-code-blocks.html").account_id == "gh_fda134bc4aea"


def test_cover_comes_from_msg_cdn_url():
    cover = parsed("article-2025-original-weekly-images-inline-code.html").cover
    assert cover == (
        "https://mmbiz.qpic.cn/mmbiz_jpg/XjGG4txZI4FM1OUuCDZ69EBYuEAv3bq3iaIicQRZZCMHy5AqsAKUb"
        "ZWFuqsMfaKpS2WRqS1Eb4Jyh8QCOJnxZAeg/0?wx_fmt=jpeg"
    )


def test_digest_decodes_js_newline_escapes():
    digest = parsed("article-2018-mpvoice-audio.html").digest
    assert digest.split("\n")[:2] == ["◇“老赖”将被限制不动产交易", "◇近5万游客周末逛东湖樱园"]


def test_video_post_with_amp_escaped_msg_link_gets_its_ids_from_the_link():
    page = parsed("video-post-2018-item-show-type-5.html")
    assert (page.mid, page.idx) == ("2247489928", "1")


def test_video_post_body_links_its_tencent_video():
    body = parsed("video-post-2018-item-show-type-5.html").body_html
    assert body.endswith(
        '<p><a href="https://v.qq.com/x/page/c1338f604ll.html">视频：今天的推送，会动！</a></p>'
    )


def test_inline_links_to_other_articles_stay_in_the_body():
    body = parsed("article-2020-inline-mp-links.html").body_html
    assert len(re.findall(r'href="https?://mp\.weixin\.qq\.com/s', body)) == 13


def test_code_blocks_stay_in_the_body():
    assert parsed("article-2024-reprint-code-blocks.html").body_html.count("<pre") == 63


def test_picture_post_2025_has_one_image_per_picture_page_entry():
    body = parsed("picture-post-2025-item-show-type-8.html").body_html
    images = re.findall(r'<p><img src="https://mmbiz\.qpic\.cn/mmbiz_png/[^"]+"></p>', body)
    assert (len(images), body.count("<img ")) == (4, 4)


def test_picture_post_2025_image_urls_lose_their_js_escapes():
    body = parsed("picture-post-2025-item-show-type-8.html").body_html
    assert body.count("wx_fmt=png&amp;from=appmsg") == 4


def test_picture_post_2025_text_is_split_into_paragraphs():
    body = parsed("picture-post-2025-item-show-type-8.html").body_html
    paragraphs = re.findall(r"<p>([^<]*)</p>", body)
    assert (len(paragraphs), paragraphs[0], paragraphs[5]) == (
        7,
        "今年，中国汽车行业价格战，寒气越发深入。",
        "【作者丨徐蔡钰】",
    )


def test_picture_post_2025_text_decodes_escaped_quotes():
    body = parsed("picture-post-2025-item-show-type-8.html").body_html
    assert '以图片呈现要点。"Talk is Cheap. Show me the data."</p>' in body


def test_picture_post_2018_text_comes_from_document_write_and_image_from_img_list():
    body = parsed("picture-post-2018-item-show-type-8.html").body_html
    assert body == (
        "<p>今天读了一篇谈腾讯战略的文章，基本上不同意该文章的观点。索性我来谈一下好了。"
        "这样的话题不太适合公开聊，在知识星球文字直播吧，感兴趣的进来参与即可。</p>"
        '<p><img src="http://mmbiz.qpic.cn/mmbiz_jpg/ow5rEn8QGlH7L4Pc8DPMicp2Ja9me1pOnwV3ibRskh4'
        'icKhJXajIAdhSOLY6A5ibqPCibYS7ibhtLS3HJQ1z6MLCcibmw/0?wx_fmt=jpeg"></p>'
    )


def test_text_post_text_becomes_paragraphs():
    body = parsed("text-post-2020-item-show-type-10.html").body_html
    assert body == (
        "<p>大家好，我是轩辕之风，这是新的账号，和原来是同样的名字，我没有卖号哈，"
        "只是把主体迁移到我自己名下来，之前一直挂靠在朋友那里。</p>"
        "<p>对了，原来号的历史文章明天下午就会全部迁移到这个号来，届时就恢复正常可以访问了。</p>"
        "<p>感谢大家的关注，轩辕会继续努力创作更多有趣的技术故事🙏🙏</p>"
    )


def test_share_post_shared_url_is_the_canonical_original():
    assert parsed("share-2019-recommend-with-share-notice.html").shared_url == (
        "https://mp.weixin.qq.com/s?__biz=MzIxNzE3MjEwNg==&mid=2247483687&idx=1"
        "&sn=8c05352c98185e08f8100947f6f0b621"
    )


def test_share_post_body_is_the_comment_then_a_link_to_the_original():
    body = parsed("share-2019-recommend-with-share-notice.html").body_html
    assert body == (
        "<p>上周，我推荐《在线》杂志的长文《我用AI机器人留住去世的父亲》。儿子得知父亲晚期肺癌以后，"
        "进行谈话录音，把内容做成一个对话机器人，父亲去世后还能跟他对话。</p>"
        "<p>当时我说，希望文章能有中文版。真有网友翻译了，而且译得很好，我再次读依然感动。"
        "我们太强调技术胜过人，但技术也可以有人性。</p>"
        '<p><a href="https://mp.weixin.qq.com/s?__biz=MzIxNzE3MjEwNg==&amp;mid=2247483687'
        '&amp;idx=1&amp;sn=8c05352c98185e08f8100947f6f0b621">'
        "和死神赛跑：趁父亲还在世，我想用人工智能留住他</a></p>"
    )


@pytest.mark.parametrize(
    "name", sorted(name for name, kind in KINDS.items() if kind not in ARTICLE_KINDS)
)
def test_message_pages_carry_no_metadata(name):
    page = parsed(name)
    assert (page.title, page.account, page.published_at, page.biz, page.body_html) == (
        None,
        None,
        None,
        None,
        "",
    )


def test_four_megabyte_page_parses_in_well_under_100_ms():
    html = fixture_text("article-2026-pay-subscribe-preview.html")
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        parse_page(html)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.1


# ------------------------------------------------------------------ small pages written here

BIZ = "MzA5NjAwMDAwMA=="
CANONICAL = (
    f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650000001&idx=1"
    "&sn=0123456789abcdef0123456789abcdef"
)
METADATA_SCRIPT = """
    var item_show_type = "0";
    var nickname = htmlDecode("测试账号");
    var ct = "1700000000";
    var user_name = "gh_0123456789ab";
    var msg_title = '测试标题'.html(false);
    var msg_desc = htmlDecode("摘要");
    var msg_cdn_url = "https://mmbiz.qpic.cn/mmbiz_jpg/cover/0?wx_fmt=jpeg";
    var msg_link = "https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOp";
    var msg_source_url = '';
    var author = "作者甲";
    var copyright_stat = "1" * 1;
    var is_pay_subscribe = "0" * 1;
"""


IDS_SCRIPT = f"""
    var biz = "" || "{BIZ}";
    var sn = "" || "0123456789abcdef0123456789abcdef" || "";
    var mid = "" || "" || "2650000001";
    var idx = "" || "" || "1";
"""


def article_page(
    body: str = "<p>正文第一段</p>", script: str = METADATA_SCRIPT, ids: str = IDS_SCRIPT
) -> str:
    """The shape of a served article: ids in one script, metadata in another, #js_content."""
    return f"""<!DOCTYPE html><html><head>
<meta property="og:title" content="OG 标题">
<title></title></head>
<body id="activity-detail">
<h1 class="rich_media_title" id="activity-name">页面标题</h1>
<div id="meta_content" class="rich_media_meta_list"><a id="js_name">页面账号</a></div>
<div class="rich_media_content" id="js_content" style="visibility: hidden;">{body}</div>
<script type="text/javascript" nonce="1">{ids}</script>
<script type="text/javascript" nonce="1">{script}</script>
</body></html>"""


def message_page(headline: str, extra: str = "") -> str:
    return f"""<!DOCTYPE html><html><head><title></title>{extra}</head><body>
<div class="weui-msg"><div class="weui-msg__text-area">
<h2 class="weui-msg__title">{headline}</h2></div></div>
<script>var biz = '' || '';</script></body></html>"""


PICTURE_PAGE = """<!DOCTYPE html><html><head><title></title></head><body>
<div id="js_image_content" class="share_content_page"></div>
<script type="text/javascript" nonce="1">
    window.idx = '' || '' || '1';
    window.biz = '' || 'MzI2NDk5NzA0Mw==';
    window.item_show_type = '8' || '';
    window.mid = '' || '' || '2248800001';
    window.sn = '' || '' || 'aaaabbbbccccddddeeeeffff00001111';
    window.ct = '1762338600' || '';
    window.msg_title = '图片帖' || '';
</script>
<script type="text/javascript" nonce="1">
    (function() {
        function JsDecode(str) { return str; }
        try {
            window.cgiDataNew = {
                user_name: JsDecode('gh_aaaabbbbcccc'),
                nick_name: JsDecode('图片账号'),
                title: JsDecode('图片帖'),
                content_noencode: JsDecode('第一段\\x0a\\x0a第二段 \\x26lt;b\\x26gt;\\x0a第三段'),
                copyright_info: {
                    copyright_stat: '0' * 1,
                },
            };
        } catch (e) {}
        window.picture_page_info_list = [
            {
                width: '1201' * 1,
                height: '1601' * 1,
                cdn_url: 'https://mmbiz.qpic.cn/mmbiz_png/one/0?wx_fmt=png\\x26amp;from=appmsg',
                show_watermark: 'true' === 'true',
                watermark_info: {
                    cdn_url: 'http://mmbiz.qpic.cn/mmbiz_png/watermark/0?wx_fmt=png',
                },
            },
            {
                width: '800' * 1,
                height: '600' * 1,
                cdn_url: 'https://mmbiz.qpic.cn/mmbiz_png/two/0?wx_fmt=png',
            },
        ];
    })();
</script></body></html>"""

TEXT_PAGE = """<!DOCTYPE html><html><head><title></title></head><body>
<div id="js_content"><div class="share_notice"><p id="js_text_desc"></p></div></div>
<script type="text/javascript" nonce="1">
    window.biz = '' || 'MzIyNjMxOTY0NA==';
    window.item_show_type = '10' || '';
    window.mid = '' || '' || '2247400001';
    window.idx = '' || '' || '1';
    window.ct = '1590487813' || '';
    window.cgiDataNew = {
        nick_name: JsDecode('文字账号'),
        title: JsDecode('今天说两句。\\x0a\\x0a第二行'),
        text_page_info: {
            content: JsDecode('今天说两句。\\x0a\\x0a第二行'),
            is_user_title: '0' * 1,
        },
    };
</script></body></html>"""

SHARE_PAGE = """<!DOCTYPE html><html><head><title></title></head><body>
<h1 class="rich_media_title" id="activity-name">被转发的文章</h1>
<p class="share_notice" id="js_share_notice"><script type="text/javascript">
    document.getElementById('js_share_notice').innerHTML =
        "推荐一读。\\x0a值得一看。".replace(/\\r/g,"");
</script></p>
<div class="original_panel">
  <div class="original_panel_title"><span id="original_panel_title">被转发的文章</span></div>
  <div class="original_panel_content" id="js_content"></div>
  <span data-url="SHARED_DATA_URL" id="js_share_source">阅读全文</span>
</div>
<script type="text/javascript">
    var biz = "MzI4NjAxNjY4Nw==" || "";
    var mid = "2650222329" || "" || "";
    var idx = "1" || "" || "";
    var item_show_type = "0";
    var copyright_stat = "2" * 1;
    var msg_title = '被转发的文章'.html(false);
    var ct = "1574683643";
</script></body></html>""".replace(
    "SHARED_DATA_URL",
    "http://mp.weixin.qq.com/s?__biz=MzIxNzE3MjEwNg%3D%3D&amp;mid=2247483687&amp;idx=2"
    "&amp;sn=8c05352c98185e08f8100947f6f0b621&amp;scene=45#wechat_redirect",
)


def test_article_kind_and_title_from_msg_title():
    page = parse_page(article_page())
    assert (page.kind, page.title) == ("article", "测试标题")


def test_article_metadata_from_script_variables():
    page = parse_page(article_page())
    assert (page.account, page.author, page.account_id, page.digest, page.cover) == (
        "测试账号",
        "作者甲",
        "gh_0123456789ab",
        "摘要",
        "https://mmbiz.qpic.cn/mmbiz_jpg/cover/0?wx_fmt=jpeg",
    )


def test_article_ids_from_the_or_chained_variables():
    page = parse_page(article_page())
    assert (page.biz, page.mid, page.idx, page.sn, page.url) == (
        BIZ,
        "2650000001",
        "1",
        "0123456789abcdef0123456789abcdef",
        CANONICAL,
    )


def test_ct_is_unix_seconds_in_china_time():
    assert parse_page(article_page()).published_at.isoformat() == "2023-11-15T06:13:20+08:00"


def test_short_url_from_msg_link_short_form():
    assert parse_page(article_page()).short_url == "https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOp"


def test_empty_source_url_is_none():
    assert parse_page(article_page()).source_url is None


def test_article_body_is_js_content_inner_html():
    assert parse_page(article_page()).body_html == "<p>正文第一段</p>"


def test_article_body_drops_script_and_style():
    body = "<p>一</p><script>var x = 1;</script><style>p{color:red}</style><p>二</p>"
    assert parse_page(article_page(body=body)).body_html == "<p>一</p><p>二</p>"


def test_copyright_stat_1_is_original():
    assert parse_page(article_page()).original is True


def test_copyright_stat_2_is_not_original():
    script = METADATA_SCRIPT.replace('"1" * 1;\n    var is_pay', '"2" * 1;\n    var is_pay')
    assert parse_page(article_page(script=script)).original is False


def test_missing_copyright_stat_is_unknown():
    script = METADATA_SCRIPT.replace('var copyright_stat = "1" * 1;', "")
    assert parse_page(article_page(script=script)).original is None


def test_is_pay_subscribe_1_is_paid():
    script = METADATA_SCRIPT.replace('var is_pay_subscribe = "0"', 'var is_pay_subscribe = "1"')
    assert parse_page(article_page(script=script)).paid is True


def test_js_escapes_in_title_are_decoded():
    script = r"var msg_title = '\x26lt;b\x26gt; \u4e2d\u6587 \'引号\' \x26amp; 符号'.html(false);"
    assert parse_page(article_page(script=script)).title == "<b> 中文 '引号' & 符号"


def test_title_whitespace_is_stripped():
    script = 'var msg_title = "  \\x0a 标题 \\x0a ";'
    assert parse_page(article_page(script=script)).title == "标题"


def test_blank_author_is_none():
    script = METADATA_SCRIPT.replace('var author = "作者甲";', 'var author = "   ";')
    assert parse_page(article_page(script=script)).author is None


@pytest.mark.parametrize(
    ("meta", "author"),
    [
        ('<em class="rich_media_meta rich_media_meta_text">原创：</em>'
         '<em class="rich_media_meta rich_media_meta_text">张三</em>', "张三"),
        ('<em class="rich_media_meta rich_media_meta_text">原创： 李四</em>', "李四"),
    ],
)  # fmt: skip
def test_the_2018_templates_original_label_is_not_the_author(meta, author):
    script = METADATA_SCRIPT.replace('var author = "作者甲";', "")
    html = article_page(script=script).replace(
        '<a id="js_name">页面账号</a>', f'{meta}<a id="js_name">页面账号</a>'
    )
    assert parse_page(html).author == author


def test_a_digest_with_a_link_written_in_it_is_plain_text():
    script = METADATA_SCRIPT.replace(
        'var msg_desc = htmlDecode("摘要");',
        "var msg_desc = htmlDecode(\"见&lt;a href='https://mp.weixin.qq.com/s/x'&gt;上一篇&lt;/a&gt;\");",
    )
    assert parse_page(article_page(script=script)).digest == "见上一篇"


def test_title_falls_back_to_og_title():
    script = METADATA_SCRIPT.replace("var msg_title = '测试标题'.html(false);", "")
    assert parse_page(article_page(script=script)).title == "OG 标题"


def test_account_falls_back_to_js_name():
    script = METADATA_SCRIPT.replace('var nickname = htmlDecode("测试账号");', "")
    assert parse_page(article_page(script=script)).account == "页面账号"


def test_ids_from_msg_link_with_js_escaped_ampersands():
    script = (
        'var msg_link = "http://mp.weixin.qq.com/s?__biz=MzU2NTQzMjQ2NA==\\x26amp;mid=2247489928'
        '\\x26amp;idx=3\\x26amp;sn=cb266318c94dfa8f4bfa26263630acee\\x26amp;chksm=fc#rd";'
    )
    page = parse_page(article_page(script=script, ids='var biz = "" || ""; var sn = "";'))
    assert (page.biz, page.mid, page.idx, page.sn) == (
        "MzU2NTQzMjQ2NA==",
        "2247489928",
        "3",
        "cb266318c94dfa8f4bfa26263630acee",
    )


def test_library_code_assigning_ids_does_not_override_page_values():
    script = "var biz = opt.biz || window.biz; var mid = start + end >> 1; var idx = 0;"
    page = parse_page(article_page(script=script))
    assert (page.biz, page.mid, page.idx) == (BIZ, "2650000001", "1")


def test_create_time_in_cgidatanew_when_ct_is_missing():
    script = """window.cgiDataNew = {
        title: JsDecode('新模板'),
        create_time: JsDecode('2025-11-07 08:31'),
    };"""
    assert parse_page(article_page(script=script)).published_at.isoformat() == (
        "2025-11-07T08:31:00+08:00"
    )


def test_cgidatanew_assigned_more_than_once_is_read_from_its_object_literal():
    script = (
        "window.cgiDataNew = window.cgiDataNew || {};\n"
        "window.cgiDataNew = { nick_name: '第二次赋值', ori_create_time: '1779506951' * 1 };"
    )
    page = parse_page(article_page(script=script))
    assert (page.account, page.published_at.isoformat()) == (
        "第二次赋值",
        "2026-05-23T11:29:11+08:00",
    )


def test_a_unix_time_wins_over_a_formatted_create_time():
    script = (
        "window.cgiDataNew = { create_time: '2026-05-23 11:29', "
        "ori_create_time: '1779506951' * 1 };"
    )
    assert parse_page(article_page(script=script)).published_at.isoformat() == (
        "2026-05-23T11:29:11+08:00"
    )


def test_a_formatted_create_time_serves_when_there_is_no_unix_time():
    script = "window.cgiDataNew = { create_time: '2026-05-23 11:29' };"
    assert parse_page(article_page(script=script)).published_at.isoformat() == (
        "2026-05-23T11:29:00+08:00"
    )


def test_the_account_is_nickname_then_the_data_objects_nick_name_then_js_name():
    declared_empty = "var nickname = ''; window.cgiDataNew = { nick_name: '新账号' };"
    assert parse_page(article_page(script=declared_empty)).account == "新账号"
    assert parse_page(article_page(script="var nickname = '';")).account == "页面账号"
    assert parse_page(article_page()).account == "测试账号"


def test_ct_from_ternary_template_assignment():
    script = "d.ct = xml ? getXmlValue('ori_create_time.DATA') : '1762338600';"
    assert parse_page(article_page(script=script)).published_at.isoformat() == (
        "2025-11-05T18:30:00+08:00"
    )


def test_ct_from_window_or_chain():
    script = "window.ct = '1590487813' || '';"
    assert parse_page(article_page(script=script)).published_at.isoformat() == (
        "2020-05-26T18:10:13+08:00"
    )


def test_short_url_from_url_argument():
    page = parse_page(article_page(), url="https://mp.weixin.qq.com/s/Xy_Z-0123456789ab")
    assert (page.short_url, page.url) == (
        "https://mp.weixin.qq.com/s/Xy_Z-0123456789ab",
        CANONICAL,
    )


def test_article_body_mentioning_expired_link_is_still_an_article():
    body = "<p>有读者说链接已过期，该内容已被发布者删除，此内容因违规无法查看。</p>"
    assert parse_page(article_page(body=body)).kind == "article"


def test_article_body_mentioning_verification_words_is_still_an_article():
    body = "<p>访问过于频繁时微信会要求验证身份，页面会加载 TCaptcha.js。</p>"
    assert parse_page(article_page(body=body)).kind == "article"


@pytest.mark.parametrize(
    "marker",
    [
        '<script src="https://captcha.gtimg.com/TCaptcha.js"></script>',
        "<script>var PAGE_MID='mmbizwap:secitptpage/verify.html';</script>",
        '<a href="https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=x">go</a>',
        "<p>验证身份</p>",
        "<p>访问过于频繁，请用微信扫描二维码进行访问</p>",
        '<div class="weui-msg"><p>当前环境异常，完成验证后即可继续访问。</p><a>去验证</a></div>',
        '<form><input id="verifycode" name="verifycode"></form>',
    ],
)
def test_verification_marker_makes_a_verification_page(marker):
    html = f"<html><head><title></title></head><body>{marker}</body></html>"
    assert parse_page(html).kind == "verification"


@pytest.mark.parametrize(
    "text",
    [
        "<p>环境异常</p>",  # the word alone, without the way to verify
        "<p>请输入短信验证码完成验证</p>",
    ],
)
def test_a_page_that_only_mentions_verifying_is_no_verification_page(text):
    html = f"<html><head><title></title></head><body>{text}</body></html>"
    with pytest.raises(InputError, match="no WeChat article content found"):
        parse_page(html)


def test_an_accounts_verification_information_page_is_no_captcha():
    html = """<!DOCTYPE html><html><head><title>微信认证</title></head><body>
<div class="verify_info"><h2>认证信息</h2><p>该账号已通过微信认证，认证主体：某某有限公司。</p>
<p>认证时间：2024年3月1日</p></div>
<script>var url = "https://mp.weixin.qq.com/mp/wxverify/info?__biz=MzkxMTAwMDAwMQ==";</script>
</body></html>"""
    with pytest.raises(InputError, match="no WeChat article content found"):
        parse_page(html)


def test_an_article_about_sms_verification_is_an_article():
    body = "<p>短信验证码怎么防刷？当前环境异常时，App 会提示去验证。</p>"
    assert parse_page(article_page(body=body)).kind == "article"


def test_verification_page_that_also_says_deleted_is_verification():
    html = message_page("该内容已被发布者删除", extra='<script src="/TCaptcha.js"></script>')
    assert parse_page(html).kind == "verification"


def test_verification_page_with_js_escaped_markup_is_verification():
    html = '<!DOCTYPE html>\\n<h2 class=\\"weui-msg__title\\">验证身份</h2>\\n'
    assert parse_page(html).kind == "verification"


def test_article_page_loading_the_captcha_script_is_verification():
    body = '<p>正文</p><script src="https://captcha.gtimg.com/TCaptcha.js"></script>'
    assert parse_page(article_page(body=body)).kind == "verification"


@pytest.mark.parametrize(
    ("headline", "kind"),
    [
        ("该内容已被发布者删除", "deleted"),
        ("The content has been deleted by the author.", "deleted"),
        ("此内容因违规无法查看", "blocked"),
        ("此内容被投诉且经审核涉嫌侵权，无法查看", "blocked"),
        ("该内容暂时无法查看", "unavailable"),
        ("链接已过期", "expired"),
    ],
)
def test_message_wording_gives_the_kind(headline, kind):
    assert parse_page(message_page(headline)).kind == kind


@pytest.mark.parametrize(
    ("headline", "kind", "reason"),
    [
        (
            "根据作者隐私设置，无法查看该内容",
            "unavailable",
            "hidden by the author's privacy settings",
        ),
        ("此内容已被第三方辟谣", "blocked", "refuted by a third-party fact check"),
        ("发送失败，无法查看", "unavailable", "sending failed"),
        ("此内容被投诉且经审核涉嫌侵权，无法查看", "blocked", "removed after complaints"),
        ("请在微信客户端打开链接", "unavailable", "WeChat shows it only in its own app"),
        ("该内容已被发布者删除", "deleted", None),
    ],
)
def test_a_message_page_says_why_when_its_wording_does(headline, kind, reason):
    page = parse_page(message_page(headline))
    assert (page.kind, page.reason) == (kind, reason)


def test_a_deleted_page_with_a_complaint_button_stays_deleted():
    html = message_page("该内容已被发布者删除").replace(
        "</div></div>", '</div><div class="weui-msg__opr-area"><a>投诉</a></div></div>'
    )
    page = parse_page(html)
    assert (page.kind, page.reason) == ("deleted", None)


PRIVATE_SHELL = """<!DOCTYPE html><html><head><meta charset="utf-8"><title></title>
<script type="module" crossorigin src="https://res.wx.qq.com/mmbizappmsg/private.4f1a2b.js">
</script></head>
<body class="appmsg_skin_default appmsg_style_default"><div id="app"></div></body></html>"""


def test_the_empty_app_shell_of_a_private_article_is_unavailable_with_its_reason():
    page = parse_page(PRIVATE_SHELL, url=f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=7&idx=1")
    assert (page.kind, page.reason, page.key) == (
        "unavailable",
        "hidden by the author's privacy settings",
        f"{BIZ}:7:1",
    )


def test_an_empty_app_shell_without_the_private_bundle_is_no_article():
    html = PRIVATE_SHELL.replace("private.4f1a2b.js", "index.4f1a2b.js")
    with pytest.raises(InputError, match="no WeChat article content found"):
        parse_page(html)


def test_unavailable_wording_in_mesg_block():
    html = '<html><body><div class="mesg-block"><p>该内容暂时无法查看</p></div></body></html>'
    assert parse_page(html).kind == "unavailable"


def test_message_page_keeps_the_url_it_was_fetched_from():
    link = "https://mp.weixin.qq.com/s?__biz=MzA5NjAwMDAwMA==&amp;mid=2650000001&amp;idx=1#rd"
    page = parse_page(message_page("该内容已被发布者删除"), url=link)
    assert (page.kind, page.url, page.biz) == (
        "deleted",
        "https://mp.weixin.qq.com/s?__biz=MzA5NjAwMDAwMA==&mid=2650000001&idx=1",
        "MzA5NjAwMDAwMA==",
    )


def test_empty_page_is_an_input_error():
    with pytest.raises(InputError, match=r"^empty page$"):
        parse_page("  \n ")


def test_page_without_article_or_message_is_an_input_error():
    with pytest.raises(InputError, match=r"^no WeChat article content found$"):
        parse_page("<html><head><title>503 Service Unavailable</title></head></html>")


def test_picture_post_kind_and_title():
    page = parse_page(PICTURE_PAGE)
    assert (page.kind, page.title, page.account) == ("picture", "图片帖", "图片账号")


def test_picture_post_body_is_text_paragraphs_then_images():
    assert parse_page(PICTURE_PAGE).body_html == (
        "<p>第一段</p><p>第二段 &lt;b&gt;<br>第三段</p>"
        '<p><img src="https://mmbiz.qpic.cn/mmbiz_png/one/0?wx_fmt=png&amp;from=appmsg"></p>'
        '<p><img src="https://mmbiz.qpic.cn/mmbiz_png/two/0?wx_fmt=png"></p>'
    )


def test_a_posts_text_keeps_its_links_and_line_breaks_and_shows_other_markup_as_written():
    text = (
        "第一行\\x0a第二行<br>第三行\\x0a\\x0a"
        '详见<a href="https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOp" target="_blank">'
        "<span>这篇</span></a>，&lt;b&gt;不是粗体"
    )
    html = PICTURE_PAGE.replace("第一段\\x0a\\x0a第二段 \\x26lt;b\\x26gt;\\x0a第三段", text)
    assert parse_page(html).body_html.split("<p><img")[0] == (
        "<p>第一行<br>第二行<br>第三行</p>"
        '<p>详见<a href="https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOp">这篇</a>，&lt;b&gt;不是粗体</p>'
    )


def test_picture_post_original_flag_from_cgidatanew_copyright_info():
    assert parse_page(PICTURE_PAGE).original is False


def test_text_post_body_from_text_page_info():
    assert parse_page(TEXT_PAGE).body_html == "<p>今天说两句。</p><p>第二行</p>"


def test_a_2026_text_post_without_jsdecode_reads_its_bare_string():
    html = TEXT_PAGE.replace(
        "content: JsDecode('今天说两句。\\x0a\\x0a第二行')",
        "content_noencode: '今天说两句。\\x0a\\x0a第二行'",
    )
    assert "content_noencode: '" in html
    assert parse_page(html).body_html == "<p>今天说两句。</p><p>第二行</p>"


def test_a_text_post_whose_text_is_only_in_its_og_tags_keeps_it():
    html = (
        TEXT_PAGE.replace("content: JsDecode('今天说两句。\\x0a\\x0a第二行'),", "")
        .replace("title: JsDecode('今天说两句。\\x0a\\x0a第二行'),", "")
        .replace(
            "<title></title>",
            '<title></title><meta property="og:description" content="只在标签里。\\x0a第二行">',
        )
    )
    page = parse_page(html)
    assert (page.title, page.body_html) == ("只在标签里。", "<p>只在标签里。<br>第二行</p>")


def test_text_post_title_is_the_first_line_of_its_text():
    page = parse_page(TEXT_PAGE)
    assert (page.kind, page.title) == ("text", "今天说两句。")


def test_share_post_kind_and_shared_url():
    page = parse_page(SHARE_PAGE)
    assert (page.kind, page.shared_url) == (
        "share",
        "https://mp.weixin.qq.com/s?__biz=MzIxNzE3MjEwNg==&mid=2247483687&idx=2"
        "&sn=8c05352c98185e08f8100947f6f0b621",
    )


def test_share_post_body_is_comment_and_link():
    assert parse_page(SHARE_PAGE).body_html == (
        "<p>推荐一读。<br>值得一看。</p>"
        '<p><a href="https://mp.weixin.qq.com/s?__biz=MzIxNzE3MjEwNg==&amp;mid=2247483687'
        '&amp;idx=2&amp;sn=8c05352c98185e08f8100947f6f0b621">被转发的文章</a></p>'
    )


def test_copyright_stat_2_alone_is_not_a_share():
    assert parse_page(article_page(script='var copyright_stat = "2" * 1;')).kind == "article"


def test_video_show_type_is_video():
    script = METADATA_SCRIPT.replace('var item_show_type = "0";', 'var item_show_type = "5";')
    assert parse_page(article_page(script=script)).kind == "video"


# ------------------------------------------------------------------ garbage never crashes

SAMPLES = [article_page(), PICTURE_PAGE, TEXT_PAGE, SHARE_PAGE, message_page("链接已过期")]
SPECIAL = "<>/\\'\"=;:,.{}[]()|&?!*+-#x0a\\u 　中文var window d. _g. JsDecode( ||"
FRAGMENTS = st.text(alphabet=st.sampled_from(list(SPECIAL)) | st.characters(), max_size=20)


def outcome(html: str) -> str:
    """The page's kind, or "InputError"; any other exception fails the test."""
    try:
        page = parse_page(html)
    except InputError:
        return "InputError"
    assert isinstance(page, Page)
    assert page.kind in ARTICLE_KINDS | NOT_ARTICLE_KINDS
    return page.kind


FUZZ = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text())
def test_random_text_never_raises_anything_but_input_error(text):
    outcome(text)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list(SPECIAL))))
def test_random_markup_characters_never_raise_anything_but_input_error(text):
    outcome(text)


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_truncated_pages_never_raise_anything_but_input_error(sample, data):
    outcome(sample[: data.draw(st.integers(0, len(sample)))])


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_pages_with_inserted_characters_never_raise_anything_but_input_error(sample, data):
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(sample)))
        sample = sample[:at] + data.draw(FRAGMENTS) + sample[at:]
    outcome(sample)


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_pages_with_deleted_characters_never_raise_anything_but_input_error(sample, data):
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(sample)))
        sample = sample[:at] + sample[at + data.draw(st.integers(1, 40)) :]
    outcome(sample)
