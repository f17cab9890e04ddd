"""parse_page: 2026's body containers (#page_content, .rich_media_area_primary) are the body
only where #js_content is absent or empty, and only their content part.

The pages here follow the classic article template as the saved pages in
../shared/fixtures/wechat have it (from wechat-article/wechat-article-exporter
samples/普通图文 and chyroc/WechatSogou test/file): `#page-content.rich_media_area_primary >
.rich_media_area_primary_inner > #img-content.rich_media_wrp`, holding the title
(`#activity-name`), the meta line (`#meta_content`), `#js_content`, the reward and album
bars, with the like/comment block beside `#img-content` and the hidden Sogou block
`.rich_media_area_primary.sougou`. No 2026 page with `#page_content` was found in public
code, so its pages here put the body straight inside it, with the same title and meta.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from harvester.errors import InputError
from harvester.markdown import html_to_markdown
from harvester.page import parse_page

FIXTURES = Path(__file__).parents[2] / "shared" / "fixtures" / "wechat"

SCRIPT = """<script type="text/javascript">
    var biz = "MzA3NzM2Mjc4Mw==" || "";
    var mid = "2650000001" || "" || "";
    var idx = "1" || "" || "";
    var item_show_type = "0";
    var msg_title = '新模板的文章'.html(false);
    var ct = "1780000000";
</script>"""

TITLE_AND_META = """<h1 class="rich_media_title" id="activity-name">新模板的文章</h1>
<div id="meta_content" class="rich_media_meta_list">
  <span class="rich_media_meta rich_media_meta_text">作者甲</span>
  <a class="rich_media_meta rich_media_meta_link" id="js_name">某账号</a>
  <em id="publish_time" class="rich_media_meta rich_media_meta_text">2026-05-30</em>
</div>"""

CHROME = """<div id="js_reward_area" class="reward_area tc"><a class="reward_access">赞赏</a></div>
<div id="js_tags" class="article-tag__list">
<div class="article-tag-card__title">收录于合集</div></div>"""

BODY = (
    '<p>第一段正文。</p><p><img data-src="https://mmbiz.qpic.cn/mmbiz_jpg/abc/640?wx_fmt=jpeg"></p>'
)

CLASSIC = f"""<!DOCTYPE html><html><head><title>新模板的文章</title></head><body>
<div id="js_article" class="rich_media"><div class="rich_media_inner">
<div id="page-content" class="rich_media_area_primary"><div class="rich_media_area_primary_inner">
<div id="img-content" class="rich_media_wrp">
{TITLE_AND_META}
<div class="rich_media_content" id="js_content" style="visibility: hidden;">JS_CONTENT</div>
AFTER
{CHROME}
</div>
<div id="js_like_comment" class="like_comment_wrp">
<div class="like_comment_tips">写下你的想法</div></div>
</div></div>
<div class="rich_media_area_primary sougou" id="sg_tj" style="display:none"><p>搜狗推荐</p></div>
</div></div>
{SCRIPT}</body></html>"""

PAGE_CONTENT_2026 = f"""<!DOCTYPE html><html><head><title>新模板的文章</title></head><body>
<div id="js_article" class="rich_media">
<div id="page_content">
{TITLE_AND_META}
{BODY}
</div></div>
{SCRIPT}</body></html>"""

EXPECTED = "第一段正文。\n\n![](https://mmbiz.qpic.cn/mmbiz_jpg/abc/640?wx_fmt=jpeg)\n"


def markdown_of(html: str) -> str:
    return html_to_markdown(parse_page(html).body_html)


def test_a_2026_page_without_js_content_takes_its_page_content_less_title_and_meta():
    page = parse_page(PAGE_CONTENT_2026)
    assert (page.kind, page.title, page.author) == ("article", "新模板的文章", "作者甲")
    assert html_to_markdown(page.body_html) == EXPECTED


def test_an_empty_js_content_gives_way_to_the_content_part_of_rich_media_area_primary():
    html = CLASSIC.replace("JS_CONTENT", "").replace("AFTER", BODY)
    assert markdown_of(html) == EXPECTED


def test_a_js_content_with_content_is_the_body_and_the_container_is_not_read():
    html = CLASSIC.replace("JS_CONTENT", "<p>正文在这里。</p>").replace("AFTER", BODY)
    assert markdown_of(html) == "正文在这里。\n"


def test_a_container_holding_only_title_meta_and_chrome_is_no_body():
    page = parse_page(CLASSIC.replace("JS_CONTENT", "").replace("AFTER", ""))
    assert (page.kind, page.body_html) == ("article", "")


def test_the_hidden_sogou_block_is_never_the_body():
    html = CLASSIC.replace("JS_CONTENT", "").replace("AFTER", "")
    assert "搜狗推荐" not in parse_page(html).body_html


def test_a_page_without_js_content_or_a_container_is_still_no_article():
    html = PAGE_CONTENT_2026.replace('id="page_content"', 'id="elsewhere"')
    with pytest.raises(InputError, match=r"^no WeChat article content found$"):
        parse_page(html)


def test_a_page_content_on_a_page_that_does_not_say_it_is_an_article_is_not_read():
    html = PAGE_CONTENT_2026.replace('var item_show_type = "0";', "")
    with pytest.raises(InputError, match=r"^no WeChat article content found$"):
        parse_page(html)


@pytest.mark.parametrize(
    "name",
    [
        "article-2017-code-blocks.html",
        "article-2020-inline-mp-links.html",
        "article-2024-reprint-code-blocks.html",
        "article-2026-pay-subscribe-preview.html",
    ],
)
def test_a_real_article_with_content_in_js_content_has_exactly_it_as_its_body(name):
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"../shared/fixtures not present: {path} is missing")
    html = path.read_text(encoding="utf-8")
    js_content = LexborHTMLParser(html).css_first("#js_content")
    js_content.strip_tags(["script", "style"])
    assert parse_page(html).body_html == js_content.inner_html.strip()
