"""Article body HTML → Markdown: one behaviour per test, on small WeChat-shaped fixtures."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from archive.render import plain_preview
from harvester.markdown import html_to_markdown, image_urls

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")
IMG = "https://mmbiz.qpic.cn/sz_mmbiz_png/AbC123/640?wx_fmt=png"
IMG2 = "https://mmbiz.qpic.cn/mmbiz_jpg/XyZ789/640?wx_fmt=jpeg"


def body(inner: str) -> str:
    """A body the way a seed file or #js_content holds it."""
    return f'<div class="rich_media_content" id="js_content">{inner}</div>'


def render(markdown: str) -> str:
    return MD.render(markdown)


# ----------------------------------------------------------------------------- images


def test_lazy_image_with_only_data_src_becomes_an_image():
    html = body(f'<p><img class="rich_pages wxw-img" data-ratio="0.5" data-src="{IMG}"></p>')
    assert html_to_markdown(html) == f"![]({IMG})\n"


def test_background_image_in_style_becomes_an_image_before_the_content():
    html = body(
        '<section style="width: 292px;background-image: url(&quot;'
        'https://mmbiz.qpic.cn/mmbiz_jpg/Bg1/640?wx_fmt=jpeg&quot;);background-size: 100%;">'
        "<p>图上的字</p></section>"
    )
    assert html_to_markdown(html) == (
        "![](https://mmbiz.qpic.cn/mmbiz_jpg/Bg1/640?wx_fmt=jpeg)\n\n图上的字\n"
    )


def test_image_inside_heading_keeps_heading_text_and_image_on_its_own_line():
    html = body(f'<h2><img data-src="{IMG}">一、研究背景</h2><p>正文</p>')
    assert html_to_markdown(html) == f"![]({IMG})\n\n## 一、研究背景\n\n正文\n"


def test_heading_holding_only_an_image_becomes_the_image():
    html = body(f'<h3><span leaf=""><img data-src="{IMG}"></span></h3>')
    assert html_to_markdown(html) == f"![]({IMG})\n"


def test_image_alt_text_is_kept():
    html = body(f'<p><img alt="图1 细胞[亚群]" data-src="{IMG}"></p>')
    markdown = html_to_markdown(html)
    assert markdown == f"![图1 细胞[亚群]]({IMG})\n"
    assert 'alt="图1 细胞[亚群]"' in render(markdown)


def test_wx_fmt_url_is_kept_whole_with_ampersands_decoded():
    src = "https://mmbiz.qpic.cn/sz_mmbiz_jpg/Q1w2/640?wx_fmt=jpeg&amp;from=appmsg&amp;tp=webp"
    html = body(f'<p><img data-src="{src}"></p>')
    expected = "https://mmbiz.qpic.cn/sz_mmbiz_jpg/Q1w2/640?wx_fmt=jpeg&from=appmsg&tp=webp"
    assert html_to_markdown(html) == f"![]({expected})\n"


def test_image_url_with_spaces_and_parentheses_is_escaped_so_it_parses():
    html = body('<p><img src="https://example.com/my pics/fig (1).png"></p>')
    markdown = html_to_markdown(html)
    assert markdown == "![](https://example.com/my%20pics/fig%20\\(1\\).png)\n"
    assert 'src="https://example.com/my%20pics/fig%20(1).png"' in render(markdown)


def test_svg_layout_keeps_its_text_and_its_images():
    html = body(
        '<section><svg viewBox="0 0 100 50"><image xlink:href="https://mmbiz.qpic.cn/svg1/0">'
        "</image><text>点击展开</text></svg></section>"
    )
    assert html_to_markdown(html) == "![](https://mmbiz.qpic.cn/svg1/0)点击展开\n"


def test_image_map_rewrites_image_targets_to_local_paths():
    html = body(f'<p><img data-src="{IMG}"><img data-src="{IMG2}"></p>')
    mapping = {IMG: "../../images/ab/abcdef.png"}
    assert html_to_markdown(html, image_map=mapping) == (
        f"![](../../images/ab/abcdef.png)![]({IMG2})\n"
    )


def test_image_urls_lists_every_image_once_in_order_without_data_uris():
    html = body(
        f'<p><img data-src="{IMG}"></p>'
        '<section style="background-image:url(&quot;https://mmbiz.qpic.cn/bg/0&quot;)">x</section>'
        '<p><img src="data:image/gif;base64,R0lGOD"></p>'
        f'<p><img data-src="{IMG}"><img src="{IMG2}"></p>'
        '<svg><image href="https://mmbiz.qpic.cn/svg/0"></image></svg>'
    )
    assert image_urls(html) == [
        IMG,
        "https://mmbiz.qpic.cn/bg/0",
        IMG2,
        "https://mmbiz.qpic.cn/svg/0",
    ]


# ----------------------------------------------------------------------------- bold, italic


def test_bold_starting_with_cjk_punctuation_moves_it_outside_and_renders():
    html = body("<p>其机制在<strong>：周围神经系统</strong>中存在差异</p>")
    markdown = html_to_markdown(html)
    assert markdown == "其机制在：**周围神经系统**中存在差异\n"
    assert "<strong>周围神经系统</strong>" in render(markdown)


def test_bold_ending_with_cjk_punctuation_moves_it_outside_and_renders():
    html = body("<p><strong>神经再生。</strong>这是最理想的形式</p>")
    markdown = html_to_markdown(html)
    assert markdown == "**神经再生**。这是最理想的形式\n"
    assert "<strong>神经再生</strong>" in render(markdown)


def test_bold_wrapped_in_quotes_keeps_the_quotes_outside():
    html = body("<p>发表在<strong>《自然通讯》</strong>上</p>")
    markdown = html_to_markdown(html)
    assert markdown == "发表在《**自然通讯**》上\n"
    assert "<strong>自然通讯</strong>" in render(markdown)


def test_bold_with_leading_and_trailing_spaces_keeps_them_outside():
    html = body("<p>an<strong> important </strong>word</p>")
    assert html_to_markdown(html) == "an **important** word\n"


def test_adjacent_bold_runs_that_cannot_be_told_apart_are_merged():
    html = body("<p>这是<strong>单细胞</strong><strong>测序</strong>技术</p>")
    markdown = html_to_markdown(html)
    assert markdown == "这是**单细胞测序**技术\n"
    assert "****" not in markdown


def test_adjacent_bold_runs_split_at_punctuation_between_them():
    html = body("<p><strong>1、</strong><strong>研究背景</strong></p>")
    markdown = html_to_markdown(html)
    assert markdown == "**1**、**研究背景**\n"
    assert render(markdown).count("<strong>") == 2


def test_adjacent_bold_runs_at_a_line_end_alternate_markers_instead_of_four_stars():
    html = body("<p><strong>原文链接</strong><strong>：</strong></p>")
    markdown = html_to_markdown(html)
    assert markdown == "**原文链接**__：__\n"
    assert render(markdown) == "<p><strong>原文链接</strong><strong>：</strong></p>\n"


def test_nested_bold_is_flattened():
    html = body("<p><strong>外层<b>内层</b>外层</strong></p>")
    assert html_to_markdown(html) == "**外层内层外层**\n"


def test_bold_holding_only_whitespace_or_nothing_is_dropped():
    html = body("<p>前<strong> </strong>中<strong></strong>后<b>\u200b</b></p>")
    assert html_to_markdown(html) == "前 中后\n"


def test_bold_inside_heading_is_not_marked_twice():
    html = body('<h3><strong><span leaf="">一、核心概念</span></strong></h3>')
    assert html_to_markdown(html) == "### 一、核心概念\n"


def test_b_is_treated_like_strong():
    html = body("<p>使用<b>Seurat</b>包</p>")
    assert html_to_markdown(html) == "使用**Seurat**包\n"


def test_italic_moves_punctuation_outside_like_bold():
    html = body("<p>这是<em>（注释）</em>内容</p>")
    markdown = html_to_markdown(html)
    assert markdown == "这是（*注释*）内容\n"
    assert "<em>注释</em>" in render(markdown)


def test_bold_around_a_link_goes_inside_the_link_text():
    html = body('<p>详见<strong><a href="https://example.com/a">说明</a></strong>。</p>')
    markdown = html_to_markdown(html)
    assert markdown == "详见[**说明**](https://example.com/a)。\n"
    assert '<a href="https://example.com/a"><strong>说明</strong></a>' in render(markdown)


def test_bold_code_uses_a_double_backtick_span():
    html = body("<p>运行 <strong><code>topoaa</code></strong> 模块</p>")
    markdown = html_to_markdown(html)
    assert markdown == "运行 **``topoaa``** 模块\n"
    assert "<strong><code>topoaa</code></strong>" in render(markdown)


def test_bold_code_between_cjk_characters_keeps_the_code_and_drops_the_bold():
    # "运行**`x`**模块" would show its asterisks: CommonMark cannot open bold there.
    html = body("<p>运行<strong><code>topoaa</code></strong>模块</p>")
    assert html_to_markdown(html) == "运行`topoaa`模块\n"


# ----------------------------------------------------------------------------- lists


def test_ordered_list_keeps_its_start_number():
    html = body('<ol start="3"><li>第三步</li><li>第四步</li></ol>')
    assert html_to_markdown(html) == "3. 第三步\n4. 第四步\n"


def test_nested_list_is_indented_under_its_item():
    html = body("<ul><li>细胞<ul><li>T细胞</li><li>B细胞</li></ul></li><li>基因</li></ul>")
    assert html_to_markdown(html) == "- 细胞\n  - T细胞\n  - B细胞\n- 基因\n"


def test_nested_ordered_list_is_indented_by_the_marker_width():
    html = body("<ol><li>准备<ol><li>下载</li></ol></li></ol>")
    assert html_to_markdown(html) == "1. 准备\n   1. 下载\n"


def test_item_with_two_paragraphs_stays_one_item():
    html = body("<ol><li><p>轴突退行性变：</p><p>华勒变性</p></li><li><p>炎症</p></li></ol>")
    markdown = html_to_markdown(html)
    assert markdown == "1. 轴突退行性变：\n\n   华勒变性\n\n2. 炎症\n"
    assert render(markdown).count("<li>") == 2


def test_sections_inside_list_items_are_unwrapped():
    html = body(
        '<ul><li><section><span leaf="">甲</span></section></li>'
        "<li><section><p>乙</p></section></li></ul>"
    )
    assert html_to_markdown(html) == "- 甲\n- 乙\n"


def test_empty_list_items_are_skipped_and_numbering_continues():
    html = body("<ol><li>一</li><li><br></li><li>二</li></ol>")
    assert html_to_markdown(html) == "1. 一\n2. 二\n"


def test_text_that_looks_like_a_list_marker_is_escaped():
    html = body("<p>1. 不是列表</p><p>- 也不是</p>")
    markdown = html_to_markdown(html)
    assert markdown == "1\\. 不是列表\n\n\\- 也不是\n"
    assert "<li>" not in render(markdown)


# ----------------------------------------------------------------------------- headings


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5, 6])
def test_headings_become_atx_headings(level):
    html = body(f"<h{level}>标题 {level}</h{level}>")
    assert html_to_markdown(html) == "#" * level + f" 标题 {level}\n"


def test_text_that_looks_like_a_heading_is_escaped():
    html = body("<p># 不是标题</p>")
    assert html_to_markdown(html) == "\\# 不是标题\n"


def test_heading_wrapping_a_list_is_not_a_heading():
    html = body("<h2><section><p>推荐阅读</p><ul><li>甲</li><li>乙</li></ul></section></h2>")
    assert html_to_markdown(html) == "推荐阅读\n\n- 甲\n- 乙\n"


# ----------------------------------------------------------------------------- code


def test_wechat_code_with_one_code_element_per_line_becomes_a_fenced_block():
    html = body(
        '<pre data-lang="python"><code><span leaf="">def f():</span></code>'
        '<code><span leaf="">&nbsp; &nbsp; return 1</span></code></pre>'
    )
    assert html_to_markdown(html) == "```python\ndef f():\n    return 1\n```\n"


def test_code_snippet_line_number_gutter_is_dropped():
    html = body(
        '<section class="code-snippet__fix code-snippet__js">'
        '<ul class="code-snippet__line-index code-snippet__js"><li></li><li></li></ul>'
        '<pre class="code-snippet__js" data-lang="javascript">'
        '<code><span class="code-snippet_outer">let a = 1;</span></code>'
        '<code><span class="code-snippet_outer">a++;</span></code></pre></section>'
    )
    assert html_to_markdown(html) == "```javascript\nlet a = 1;\na++;\n```\n"


@pytest.mark.parametrize(
    ("attributes", "language"),
    [
        ('class="code-snippet__js"', "js"),
        ('class="language-r"', "r"),
        ('data-lang="bash"', "bash"),
        ('class="hljs"', ""),
    ],
)
def test_code_language_comes_from_data_lang_or_class(attributes, language):
    html = body(f"<pre {attributes}><code>x &lt;- 1</code></pre>")
    assert html_to_markdown(html) == f"```{language}\nx <- 1\n```\n"


def test_br_inside_pre_is_a_newline():
    html = body("<pre><code>library(Seurat)<br>library(dplyr)<br></code></pre>")
    assert html_to_markdown(html) == "```\nlibrary(Seurat)\nlibrary(dplyr)\n```\n"


def test_backticks_inside_code_get_a_longer_fence():
    html = body("<pre><code>```r<br>x<br>```</code></pre>")
    assert html_to_markdown(html) == "````\n```r\nx\n```\n````\n"


def test_mdnice_pre_with_decoration_span_keeps_only_the_code():
    html = body(
        '<pre class="custom" data-tool="mdnice编辑器"><span style="display: block; background: '
        "url(&quot;https://mmbiz.qpic.cn/mmbiz_svg/dots/640?wx_fmt=svg&quot;) 10px 10px / 40px "
        'no-repeat rgb(40, 44, 52); height: 30px;"></span><code class="hljs">'
        '<span class="hljs-keyword">library</span>(ggplot2)<br>p &lt;- ggplot(df)</code></pre>'
    )
    assert html_to_markdown(html) == "```\nlibrary(ggplot2)\np <- ggplot(df)\n```\n"


def test_inline_code_becomes_a_code_span():
    html = body("<p>调用<code>FindMarkers()</code>函数</p>")
    assert html_to_markdown(html) == "调用`FindMarkers()`函数\n"


def test_inline_code_containing_backticks_gets_a_longer_delimiter():
    html = body("<p>用 <code>a`b</code> 表示</p>")
    markdown = html_to_markdown(html)
    assert markdown == "用 ``a`b`` 表示\n"
    assert "<code>a`b</code>" in render(markdown)


def test_markdown_characters_inside_code_are_not_escaped():
    html = body("<p><code>snake_case * 2</code></p><pre><code>a_b = c*d</code></pre>")
    assert html_to_markdown(html) == "`snake_case * 2`\n\n```\na_b = c*d\n```\n"


# ----------------------------------------------------------------------------- tables


def test_table_without_th_uses_its_first_row_as_header():
    html = body(
        "<table><tbody><tr><td>基因</td><td>功能</td></tr>"
        "<tr><td>TP53</td><td>抑癌</td></tr></tbody></table>"
    )
    assert html_to_markdown(html) == "| 基因 | 功能 |\n| --- | --- |\n| TP53 | 抑癌 |\n"


def test_table_cells_escape_pipes_and_flatten_line_breaks():
    html = body(
        "<table><tr><th>A|B</th><th>说明</th></tr>"
        "<tr><td><p>第一行</p><p>第二行</p></td><td>x<br>y</td></tr></table>"
    )
    markdown = html_to_markdown(html)
    assert markdown == "| A\\|B | 说明 |\n| --- | --- |\n| 第一行 第二行 | x y |\n"
    assert "<th>A|B</th>" in render(markdown)


def test_table_cell_with_an_image_keeps_the_image():
    html = body(f'<table><tr><td>图</td><td><img data-src="{IMG}"></td></tr></table>')
    assert html_to_markdown(html) == f"| 图 | ![]({IMG}) |\n| --- | --- |\n"


def test_table_inside_figure_is_a_table():
    html = body(
        "<figure><table><tr><td>样本</td><td>数量</td></tr><tr><td>A</td><td>3</td></tr>"
        "</table><figcaption>表1</figcaption></figure>"
    )
    assert html_to_markdown(html) == "| 样本 | 数量 |\n| --- | --- |\n| A | 3 |\n\n表1\n"


def test_list_in_a_table_cell_follows_its_row():
    html = body(
        "<table><tr><td>细胞死亡</td><td><ul><li>铜死亡</li><li>铁死亡</li></ul></td></tr></table>"
    )
    markdown = html_to_markdown(html)
    assert markdown == "| 细胞死亡 |\n| --- |\n\n- 铜死亡\n- 铁死亡\n"
    assert render(markdown).count("<li>") == 2


# ----------------------------------------------------------------------------- blocks, breaks


def test_nested_blockquote():
    html = body("<blockquote><p>外</p><blockquote><p>内</p></blockquote></blockquote>")
    assert html_to_markdown(html) == "> 外\n>\n> > 内\n"


def test_blockquote_with_several_paragraphs_stays_one_quote():
    html = body("<blockquote><p>第一段</p><p>第二段</p></blockquote>")
    markdown = html_to_markdown(html)
    assert markdown == "> 第一段\n>\n> 第二段\n"
    assert render(markdown).count("<blockquote>") == 1


def test_br_inside_a_paragraph_is_a_hard_break():
    html = body("<p>第一行<br>第二行</p>")
    markdown = html_to_markdown(html)
    assert markdown == "第一行\\\n第二行\n"
    assert "<br />" in render(markdown)


def test_br_at_the_edges_of_a_paragraph_leaves_no_backslash():
    html = body('<p><br>文字<br></p><section><span leaf=""><br></span></section>')
    assert html_to_markdown(html) == "文字\n"


def test_two_brs_start_a_new_paragraph():
    html = body("<p>上一段<br><br>下一段</p>")
    assert html_to_markdown(html) == "上一段\n\n下一段\n"


def test_hr_becomes_a_thematic_break_between_paragraphs_only():
    html = body("<hr><p>甲</p><hr><hr><p>乙</p><hr>")
    markdown = html_to_markdown(html)
    assert markdown == "甲\n\n---\n\n乙\n"
    assert "<hr />" in render(markdown) and "<h2>" not in render(markdown)


def test_nbsp_becomes_a_space_and_zero_width_characters_vanish():
    html = body("<p>a&nbsp;b\u200bc\ufeffd\u00a0\u00a0e</p>")
    assert html_to_markdown(html) == "a bcd e\n"


def test_empty_elements_leave_at_most_one_blank_line():
    html = body(
        "<p>甲</p><p></p><p><br></p><section><span></span></section>"
        "<p>\u200b</p><p>&nbsp;</p><p>乙</p>"
    )
    assert html_to_markdown(html) == "甲\n\n乙\n"


def test_leading_nbsp_indentation_does_not_make_a_code_block():
    html = body("<p>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;缩进的段落</p>")
    assert html_to_markdown(html) == "缩进的段落\n"


# ----------------------------------------------------------------------------- escaping


def test_underscores_inside_words_and_between_cjk_are_not_escaped():
    html = body("<p>snake_case 与 a_b 与 降维图_添加圆圈</p>")
    assert html_to_markdown(html) == "snake_case 与 a_b 与 降维图_添加圆圈\n"


def test_lone_star_between_cjk_is_not_escaped():
    html = body("<p>快速选择工具*通过查找边缘来创建</p>")
    assert html_to_markdown(html) == "快速选择工具*通过查找边缘来创建\n"


def test_tildes_without_a_partner_are_not_escaped():
    html = body("<p>大家好，我是雪梨~~欢迎来到这里！10~20个</p>")
    assert html_to_markdown(html) == "大家好，我是雪梨~~欢迎来到这里！10~20个\n"


def test_touching_inline_code_elements_are_one_code_span():
    html = body("<p>运行<code>Find</code><code>Markers()</code>即可</p>")
    assert html_to_markdown(html) == "运行`FindMarkers()`即可\n"


def test_stars_that_would_pair_up_are_escaped():
    html = body("<p>*注意* 和 2*3*4</p>")
    markdown = html_to_markdown(html)
    assert markdown == "\\*注意\\* 和 2\\*3\\*4\n"
    assert "<em>" not in render(markdown)


def test_text_that_looks_like_html_is_escaped_and_shown_as_text():
    html = body("<p>a &lt; b，&lt;script&gt;alert(1)&lt;/script&gt;</p>")
    markdown = html_to_markdown(html)
    assert markdown == "a < b，&lt;script>alert(1)&lt;/script>\n"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in render(markdown)


def test_brackets_followed_by_parentheses_in_text_do_not_become_a_link():
    html = body("<p>[1](Smith 2020)</p>")
    markdown = html_to_markdown(html)
    assert markdown == "[1\\](Smith 2020)\n"
    assert "<a " not in render(markdown)


def test_backticks_and_entity_lookalikes_in_text_are_escaped():
    html = body("<p>`code` 与 &amp;nbsp;</p>")
    markdown = html_to_markdown(html)
    assert markdown == "&#96;code&#96; 与 \\&nbsp;\n"
    assert render(markdown) == "<p>`code` 与 &amp;nbsp;</p>\n"


# ----------------------------------------------------------------------------- links


def test_link_keeps_its_text_and_href():
    html = body('<p>见<a href="https://github.com/satijalab/seurat">Seurat</a>文档</p>')
    assert html_to_markdown(html) == "见[Seurat](https://github.com/satijalab/seurat)文档\n"


def test_link_to_another_wechat_article_is_rewritten_to_its_canonical_url():
    href = (
        "http://mp.weixin.qq.com/s?__biz=MzU1OTExMTAxNA==&amp;mid=2247484526&amp;idx=1"
        "&amp;sn=63e45396c645656ef154f93302c5a218&amp;chksm=fc1d0a77&amp;scene=21#wechat_redirect"
    )
    html = body(f'<p><a href="{href}" data-linktype="2">往期推荐</a></p>')
    assert html_to_markdown(html) == (
        "[往期推荐](https://mp.weixin.qq.com/s?__biz=MzU1OTExMTAxNA==&mid=2247484526&idx=1"
        "&sn=63e45396c645656ef154f93302c5a218)\n"
    )


def test_javascript_link_becomes_plain_text():
    html = body('<p><a href="javascript:void(0);">阅读原文</a></p>')
    assert html_to_markdown(html) == "阅读原文\n"


@pytest.mark.parametrize(
    "href",
    [
        "java&#x09;script:alert(1)",
        "java\nscript:alert(1)",
        "&#x01;javascript:alert(1)",
        "javascript&#x3A;alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\u200bscript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
    ],
)
def test_a_link_a_browser_would_run_or_open_locally_keeps_only_its_text(href):
    html = body(f'<p><a href="{href}">点我</a></p>')
    assert html_to_markdown(html) == "点我\n"


@pytest.mark.parametrize(
    ("href", "markdown"),
    [
        ("https://example.com/a", "[点我](https://example.com/a)\n"),
        ("mailto:editor@example.com", "[点我](mailto:editor@example.com)\n"),
        ("tel:+8610123", "[点我](tel:+8610123)\n"),
        ("notes/a.html", "[点我](notes/a.html)\n"),
    ],
)
def test_web_mail_phone_and_relative_links_are_kept(href, markdown):
    assert html_to_markdown(body(f'<p><a href="{href}">点我</a></p>')) == markdown


@pytest.mark.parametrize(
    "src", ["java&#x09;script:alert(1)", "vbscript:x", "file:///etc/passwd", "blob:x"]
)
def test_an_image_from_anywhere_but_the_web_is_dropped(src):
    assert html_to_markdown(body(f'<p>图<img src="{src}"></p>')) == "图\n"


def test_link_without_href_becomes_plain_text():
    html = body("<p><a>无链接</a></p>")
    assert html_to_markdown(html) == "无链接\n"


def test_link_around_only_an_image_keeps_the_image_inside_the_link():
    html = body(f'<p><a href="https://example.com/next"><img data-src="{IMG}"></a></p>')
    assert html_to_markdown(html) == f"[![]({IMG})](https://example.com/next)\n"


def test_balanced_brackets_in_link_text_are_left_alone():
    html = body('<p><a href="https://example.com/">[PDF] 下载</a></p>')
    markdown = html_to_markdown(html)
    assert markdown == "[[PDF] 下载](https://example.com/)\n"
    assert '<a href="https://example.com/">[PDF] 下载</a>' in render(markdown)


def test_unbalanced_brackets_in_link_text_are_escaped():
    html = body('<p><a href="https://example.com/">第1]章</a></p>')
    markdown = html_to_markdown(html)
    assert markdown == "[第1\\]章](https://example.com/)\n"
    assert '<a href="https://example.com/">第1]章</a>' in render(markdown)


def test_link_wrapping_blocks_links_each_line():
    html = body(
        f'<a href="https://example.com/card"><section><img data-src="{IMG}"></section>'
        "<p>卡片标题</p></a>"
    )
    assert html_to_markdown(html) == (
        f"[![]({IMG})](https://example.com/card)\n\n[卡片标题](https://example.com/card)\n"
    )


# ----------------------------------------------------------------------------- embeds


def test_video_iframe_becomes_a_video_link():
    html = body(
        '<p><iframe class="video_iframe" data-vidtype="2" data-src="https://v.qq.com/iframe/'
        'preview.html?vid=o0608305r9k&amp;width=500&amp;height=375&amp;auto=0"></iframe></p>'
    )
    assert html_to_markdown(html) == "[视频](https://v.qq.com/x/page/o0608305r9k.html)\n"


def test_wechat_video_iframe_becomes_a_video_link():
    html = body(
        '<iframe data-mpvid="wxv_2820694763246075906" data-src="https://mp.weixin.qq.com/mp/'
        'readtemplate?t=pages/video_player_tmpl&amp;action=mpvideo&amp;vid=wxv_282069"></iframe>'
    )
    assert html_to_markdown(html) == (
        "[视频](https://mp.weixin.qq.com/mp/readtemplate?t=pages/video_player_tmpl"
        "&action=mpvideo&vid=wxv_282069)\n"
    )


def test_mpvoice_becomes_an_audio_link():
    html = body(
        '<p><mpvoice class="res_iframe js_editor_audio" name="早安武汉3月19日" '
        'voice_encode_fileid="MjM5ODAyNTcwMF8yNjUxNzg4Mzky" play_length="283000"></mpvoice></p>'
    )
    assert html_to_markdown(html) == (
        "[音频：早安武汉3月19日](https://res.wx.qq.com/voice/getvoice?"
        "mediaid=MjM5ODAyNTcwMF8yNjUxNzg4Mzky)\n"
    )


def test_mp_common_mpaudio_becomes_an_audio_link_with_its_name_unescaped():
    html = body(
        '<section><mp-common-mpaudio class="js_editor_audio" name="【Day&amp;nbsp;15】睡前碎碎念" '
        'voice_encode_fileid="MzIzNDcyMTI5MV8y"></mp-common-mpaudio></section>'
    )
    assert html_to_markdown(html) == (
        "[音频：【Day 15】睡前碎碎念](https://res.wx.qq.com/voice/getvoice?mediaid=MzIzNDcyMTI5MV8y)\n"
    )


def test_qqmusic_becomes_a_music_link_with_title_and_singer():
    html = body(
        '<qqmusic class="res_iframe qqmusic_iframe" musicid="4809615" mid="00123y8J06cU1c" '
        'music_name="你那么爱她" singer="李圣杰;林隆璇&amp;nbsp;-&amp;nbsp;关于你的歌"></qqmusic>'
    )
    assert html_to_markdown(html) == (
        "[音乐：你那么爱她 – 李圣杰;林隆璇 - 关于你的歌](https://y.qq.com/n/ryqq/songDetail/00123y8J06cU1c)\n"
    )


def test_music_card_without_song_id_links_to_a_search():
    html = body(
        '<mp-common-clmusic data-pluginname="insertaudio" music_name="%E6%83%B3%E8%B1%A1'
        '%E4%B9%8B%E4%B8%AD" singer="许嵩" duration="249000"></mp-common-clmusic>'
    )
    assert html_to_markdown(html) == (
        "[音乐：想象之中 – 许嵩](https://y.qq.com/n/ryqq/search?w="
        "%E6%83%B3%E8%B1%A1%E4%B9%8B%E4%B8%AD%20%E8%AE%B8%E5%B5%A9)\n"
    )


def test_vote_card_is_a_readable_line():
    html = body(
        '<mp-common-vote data-pluginname="mpvote" data-votesubject=\'[{"type":1,'
        '"title":"你会考虑用这种思路吗？","options":[{"name":"会"}]}]\'></mp-common-vote>'
    )
    assert html_to_markdown(html) == "投票：你会考虑用这种思路吗？\n"


def test_account_card_becomes_an_account_link_its_signature_the_links_title():
    html = body(
        '<section><mp-common-profile data-pluginname="mpprofile" data-nickname="闲谈 Immunology" '
        'data-alias="xiantanimmunology" data-id="MzYzMzUzNjcyNw==" '
        'data-signature="专注ImmunoBiology"></mp-common-profile></section>'
    )
    assert html_to_markdown(html) == (
        "[公众号：闲谈 Immunology](https://mp.weixin.qq.com/mp/profile_ext?action=home"
        '&__biz=MzYzMzUzNjcyNw==#wechat_redirect "专注ImmunoBiology")\n'
    )


def test_an_account_signatures_quotes_backslashes_entities_and_lines_stay_one_title():
    html = body(
        '<mp-common-profile data-nickname="甲" data-id="MzYzMzUzNjcyNw==" '
        'data-signature="说&quot;好&quot;\\ &amp;amp;copy;&#10;第二行"></mp-common-profile>'
    )
    markdown = html_to_markdown(html)
    assert markdown.endswith('#wechat_redirect "说\\"好\\"\\\\ \\&copy; 第二行")\n')
    rendered = MarkdownIt("commonmark").render(markdown)
    assert 'title="说&quot;好&quot;\\ &amp;copy; 第二行">公众号：甲</a>' in rendered


def test_an_account_signatures_parentheses_are_character_references_in_the_title():
    html = body(
        '<mp-common-profile data-nickname="甲" data-id="MzYzMzUzNjcyNw==" '
        'data-signature="R语言(入门)"></mp-common-profile>'
    )
    markdown = html_to_markdown(html)
    assert markdown.endswith('#wechat_redirect "R语言&#40;入门&#41;")\n')
    assert plain_preview(markdown) == "公众号：甲"
    assert 'title="R语言(入门)"' in MarkdownIt("commonmark").render(markdown)


def test_a_video_iframe_with_a_cover_is_its_cover_image_linked_to_the_video():
    html = body(
        '<p><iframe class="video_iframe rich_pages" data-vidtype="2" data-mpvid="wxv_282069" '
        'data-cover="http%3A%2F%2Fmmbiz.qpic.cn%2Fmmbiz_jpg%2Fcover%2F0%3Fwx_fmt%3Djpeg" '
        'data-src="https://mp.weixin.qq.com/mp/readtemplate?t=pages/video_player_tmpl'
        '&amp;action=mpvideo&amp;vid=wxv_282069"></iframe></p>'
    )
    assert html_to_markdown(html) == (
        "[![视频](http://mmbiz.qpic.cn/mmbiz_jpg/cover/0?wx_fmt=jpeg)]"
        "(https://mp.weixin.qq.com/mp/readtemplate?t=pages/video_player_tmpl"
        "&action=mpvideo&vid=wxv_282069)\n"
    )
    assert image_urls(html) == ["http://mmbiz.qpic.cn/mmbiz_jpg/cover/0?wx_fmt=jpeg"]


def test_a_video_iframes_cover_that_is_no_web_address_leaves_the_video_link():
    html = body(
        '<iframe data-cover="javascript%3Aalert(1)" data-src="https://v.qq.com/iframe/'
        'preview.html?vid=o0608305r9k"></iframe>'
    )
    assert html_to_markdown(html) == "[视频](https://v.qq.com/x/page/o0608305r9k.html)\n"


def test_channel_video_card_becomes_a_channel_video_link():
    html = body(
        '<mp-common-videosnap data-pluginname="mpvideosnap" data-nickname="生信技能树" '
        'data-desc="单细胞水平展示目标基因？" data-type="video" '
        'data-url="https://findermp.video.qq.com/251/20304/stodownload?encfilekey=rjD5&amp;idx=1">'
        "</mp-common-videosnap>"
    )
    assert html_to_markdown(html) == (
        "[视频号：生信技能树 – 单细胞水平展示目标基因？](https://findermp.video.qq.com/251/20304/"
        "stodownload?encfilekey=rjD5&idx=1)\n"
    )


def test_a_channel_live_notice_shows_its_title_not_only_when_it_starts():
    html = body(
        '<mp-common-videosnap data-nickname="新格元" data-desc="将在10月24日 15:00 直播" '
        'data-intro="单细胞+生存分析" data-type="live"></mp-common-videosnap>'
    )
    assert html_to_markdown(html) == "视频号直播：新格元 – 单细胞+生存分析\n"


def test_channel_live_notice_without_url_is_a_readable_line():
    html = body(
        '<mp-common-videosnap data-nickname="新格元" data-desc="将在10月24日 15:00 直播" '
        'data-type="live"></mp-common-videosnap>'
    )
    assert html_to_markdown(html) == "视频号直播：新格元 – 将在10月24日 15:00 直播\n"


def test_mini_program_card_is_a_readable_line():
    html = body(
        '<mp-common-miniprogram data-miniprogram-nickname="奇点美物" '
        'data-miniprogram-title="人类与癌症的抗争史" data-miniprogram-path="pages/index/index">'
        "</mp-common-miniprogram>"
    )
    assert html_to_markdown(html) == "小程序：奇点美物 – 人类与癌症的抗争史\n"


def test_ads_and_editor_markers_are_dropped():
    html = body(
        "<p>正文</p><mpcpc js_editor_cpcad=''></mpcpc>"
        '<mp-common-cpsad data-dramaid="1"></mp-common-cpsad>'
        '<p><mp-style-type data-value="3"></mp-style-type></p><script>var a=1;</script>'
    )
    assert html_to_markdown(html) == "正文\n"


# ----------------------------------------------------------------------------- whole output


def test_empty_body_gives_empty_string():
    assert html_to_markdown("") == ""
    assert html_to_markdown(body("<p><br></p>")) == ""


def test_output_ends_with_exactly_one_newline():
    markdown = html_to_markdown(body("<p>甲</p><p>乙</p><p><br></p>"))
    assert markdown.endswith("乙\n") and not markdown.endswith("\n\n")


def test_inner_html_without_the_outer_div_converts_the_same():
    inner = "<p>第一段</p><h2>标题</h2>"
    assert html_to_markdown(inner) == html_to_markdown(body(inner)) == "第一段\n\n## 标题\n"


# ----------------------------------------------------------------------------- properties

RAW_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?>")
WECHAT_BODY = (
    '<section><p><span leaf="">神经<strong>修复</strong>与</span><b>再生</b>：'
    '<em>（注）</em></p><h2><img data-src="https://mmbiz.qpic.cn/a/0?wx_fmt=png">标题</h2>'
    '<ol start="2"><li><section>甲</section></li><li><p>乙</p><p>丙</p></li></ol>'
    '<pre data-lang="r"><code>x &lt;- 1</code><code>y_2 = x*2</code></pre>'
    "<table><tr><td>a|b</td><td><br></td></tr></table><blockquote><p>引用</p></blockquote>"
    '<p>a_b *c* 1. <a href="javascript:;">js</a><a href="https://e.com/">[x]</a><br><br></p>'
    '<mpvoice name="n" voice_encode_fileid="f"></mpvoice><hr></section>'
)
FRAGMENTS = [
    "<strong>",
    "</strong>",
    "<b>",
    "</b>",
    "<em>",
    "</em>",
    "<p>",
    "</p>",
    "<br>",
    "<li>",
    "<ul>",
    "</ul>",
    "<ol start='0'>",
    "<h3>",
    "</h3>",
    "<pre>",
    "</pre>",
    "<code>",
    "</code>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<blockquote>",
    "<a href='https://x.y/'>",
    "</a>",
    "<img data-src='https://x.y/i.png'>",
    "<hr>",
    "*",
    "**",
    "_",
    "`",
    "~",
    "[",
    "](",
    ")",
    "#",
    "> ",
    "- ",
    "1. ",
    "\\",
    "&nbsp;",
    "&lt;",
    "\u200b",
    "：",
    "。",
    "“",
    " ",
    "\n",
    "中文",
    "abc",
    "\ufdd0",
]


FENCE = re.compile(r"^ *(?:[-*+] |\d+[.)] |> ?)* *(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)")


def prose(markdown: str) -> str:
    """The Markdown outside fenced code blocks, each code span reduced to one letter."""
    kept, fence = [], None
    for line in markdown.split("\n"):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and m and m.group(1).startswith(fence[0] * len(fence)):
            fence = None
        elif fence is None:
            kept.append(line)
    return CODE_SPAN.sub("C", "\n".join(kept).replace("\\\\", "%"))


def blank_runs(markdown: str) -> tuple[int, int]:
    """The longest run of empty lines outside fenced code, and inside it."""
    longest, fence, run = [0, 0], None, 0
    for line in markdown.split("\n"):
        m = FENCE.match(line)
        if fence is None and m:
            fence, run = m.group(1), 0
        elif fence is not None and m and m.group(1).startswith(fence[0] * len(fence)):
            fence, run = None, 0
        elif line:
            run = 0
        else:
            run += 1
            inside = fence is not None
            longest[inside] = max(longest[inside], run)
    return longest[0], longest[1]


def check_output(markdown: str) -> None:
    outside_code = prose(markdown)
    assert not re.search(r"(?<![*\\])\*\*\*\*|(?<![_\\])____", outside_code), markdown
    assert not RAW_TAG.search(outside_code), markdown
    outside, inside = blank_runs(markdown)
    assert (outside <= 1, inside <= 2) == (True, True), markdown  # code keeps up to two
    assert markdown == "" or (markdown.endswith("\n") and not markdown.endswith("\n\n"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_converts_without_error(text):
    check_output(html_to_markdown(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_html_ish_fragment_soup_converts_without_error(pieces):
    check_output(html_to_markdown("".join(pieces)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=len(WECHAT_BODY)),
    st.integers(min_value=0, max_value=60),
    st.sampled_from([*FRAGMENTS, ""]),
)
def test_mutated_wechat_body_converts_without_error(position, cut, insert):
    mutated = WECHAT_BODY[:position] + insert + WECHAT_BODY[position + cut :]
    check_output(html_to_markdown(mutated))
    image_urls(mutated)


@pytest.mark.parametrize(
    "chrome",
    [
        '<div id="js_novel_card"><p>小说阅读器</p><p>继续阅读</p></div>',
        '<div id="js_pc_qr_code"><p>微信扫一扫</p></div>',
        '<div id="wx_stream_article_slide_tip">向上滑动看下一个</div>',
        '<div id="js_minipro_dialog"><p>打开小程序</p></div>',
        '<button id="js_a11y_like_btn">赞</button><span class="js_a11y_comma">，</span>',
        '<div id="js_article_bottom_bar"><p>写留言</p></div>',
    ],
)
def test_page_chrome_inside_a_body_never_enters_the_markdown(chrome):
    assert html_to_markdown(f"<p>正文。</p>{chrome}") == "正文。\n"


def test_avatars_and_data_uri_icons_are_never_content_images():
    body = (
        '<p><img src="https://wx.qlogo.cn/mmhead/Q3auHgzwzM6NFe/0">'
        '<img src="data:image/svg+xml,%3Csvg%3E%3C/svg%3E">'
        '<img data-src="https://mmbiz.qpic.cn/mmbiz_png/kept/640?wx_fmt=png"></p>'
    )
    assert image_urls(body) == ["https://mmbiz.qpic.cn/mmbiz_png/kept/640?wx_fmt=png"]
    assert html_to_markdown(body) == "![](https://mmbiz.qpic.cn/mmbiz_png/kept/640?wx_fmt=png)\n"
