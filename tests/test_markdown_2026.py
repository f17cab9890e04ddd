"""What a close reading of real pages found the converter losing (issue 13, "Converter
defects"): each test's HTML is written from the structure real WeChat pages have."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from harvester.markdown import html_to_markdown, image_urls

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def body(inner: str) -> str:
    return f'<div class="rich_media_content" id="js_content">{inner}</div>'


def render(markdown: str) -> str:
    return MD.render(markdown)


# ------------------------------------------------------------------ 1. bold set by CSS


@pytest.mark.parametrize("weight", ["bold", "bolder", "600", "700", "900"])
def test_a_span_bolded_by_font_weight_is_bold(weight):
    html = body(
        f'<p><span textstyle="" style="font-size: 16px;font-weight: {weight};">一、小众仙草</span>'
        "</p>"
    )
    assert html_to_markdown(html) == "**一、小众仙草**\n"


@pytest.mark.parametrize("weight", ["normal", "400", "500"])
def test_a_span_of_normal_weight_stays_plain(weight):
    html = body(f'<p><span style="font-weight: {weight};">正文</span></p>')
    assert html_to_markdown(html) == "正文\n"


def test_a_paragraph_bolded_by_its_style_is_a_bold_paragraph():
    html = body('<p style="color: rgb(255, 255, 255);font-weight: bold;">早上好~</p><p>正文</p>')
    assert html_to_markdown(html) == "**早上好~**\n\n正文\n"


def test_a_bold_span_inside_a_sentence_is_a_bold_run_of_it():
    html = body(
        '<p><span leaf="">其</span>'
        '<span leaf="" style="font-weight: bold;color: rgb(171, 25, 66);">非商业化的创作模式</span>'
        "<span leaf="
        ">，也决定了它</span></p>"
    )
    markdown = html_to_markdown(html)
    assert markdown == "其**非商业化的创作模式**，也决定了它\n"
    assert "<strong>非商业化的创作模式</strong>" in render(markdown)


def test_line_through_is_strikethrough():
    html = body('<p>原价<span style="text-decoration: line-through;">99元</span>现价9元</p>')
    markdown = html_to_markdown(html)
    assert markdown == "原价~~99元~~现价9元\n"
    assert "<s>99元</s>" in render(markdown)


def test_a_code_span_bolded_by_its_style_is_bold_code():
    html = body(
        '<p><code style="font-size: inherit; font-weight: 600;"><span>WM_KEYDOWN</span></code></p>'
    )
    assert "<strong><code>WM_KEYDOWN</code></strong>" in render(html_to_markdown(html))


def test_a_heading_bolded_by_its_style_is_just_a_heading():
    html = body('<h3 style="margin-top: 24px; font-weight: 600;">回车键按下</h3>')
    assert html_to_markdown(html) == "### 回车键按下\n"


def test_a_section_of_blocks_bolded_by_its_style_keeps_its_paragraphs_bold():
    html = body('<section style="font-weight: bold;"><p>第一段</p><p>第二段</p></section>')
    assert html_to_markdown(html) == "**第一段**\n\n**第二段**\n"


# ------------------------------------------------------------------ 2. formulas
# The shapes are those of the mp_duty corpus's formula articles: the mdnice editor's
# `data-formula` wrapper around a MathJax v3 SVG or an `<embed>` of one, and MathJax SVGs
# pasted bare (MathJax's SVG output marks each MathML element `data-mml-node` and each
# glyph `data-c`, its code point: mathjax/MathJax-src, ts/output/svg).


def mml(node: str, *children: str, at: str = "") -> str:
    moved = f' transform="translate({at}) scale(0.707)"' if at else ""
    return f'<g data-mml-node="{node}"{moved}>{"".join(children)}</g>'


def glyph(char: str) -> str:
    return f'<path data-c="{ord(char):X}" d="M0 0Z"></path>'


def leaf(node: str, chars: str, at: str = "") -> str:
    return mml(node, *map(glyph, chars), at=at)


def mathjax_svg(*children: str) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" focusable="false" '
        'viewbox="0 -750 6413.7 1224.6" aria-hidden="true"><g stroke="currentColor" '
        'fill="currentColor" stroke-width="0" transform="matrix(1 0 0 -1 0 0)">'
        + mml("math", *children)
        + "</g></svg>"
    )


def inline_formula(tex: str, picture: str) -> str:
    return (
        f'<span><span role="presentation" data-formula="{tex}" '
        f'data-formula-type="inline-equation">{picture}</span></span>'
    )


def block_formula(tex: str, picture: str) -> str:
    return (
        f'<span data-tool="mdnice编辑器"><section role="presentation" data-formula="{tex}" '
        f'data-formula-type="block-equation">{picture}</section></span>'
    )


SVG_M1 = mathjax_svg(mml("msub", leaf("mi", "\U0001d440"), leaf("mn", "1", at="1051, -150")))
FORMULA_EMBED = (
    '<embed src="https://mmbiz.qpic.cn/mmbiz_svg/Formula1/0?wx_fmt=svg&amp;from=appmsg" '
    'data-type="svg+xml" data-imgfileid="100006622">'
)


def test_an_inline_formula_is_its_tex_between_dollars_in_the_sentence():
    html = body(f"<p>在这里，对于矩阵{inline_formula('M_{1}', SVG_M1)}中的每个细胞i</p>")
    markdown = html_to_markdown(html)
    assert markdown == "在这里，对于矩阵$M\\_{1}$中的每个细胞i\n"
    assert rendered_text(markdown) == "在这里，对于矩阵$M_{1}$中的每个细胞i"


def test_a_block_formula_is_a_paragraph_of_its_tex_between_double_dollars_not_an_image():
    tex = r"S_{l}^{\prime}=\frac{S_{l}-\bar{S}}{d}, l \in[1, k]"
    html = body(f"<p>SCSA对这些向量进行了标准化处理：</p>{block_formula(tex, FORMULA_EMBED)}")
    markdown = html_to_markdown(html)
    assert markdown == (
        "SCSA对这些向量进行了标准化处理：\n\n"
        r"$$S\_{l}^{\prime}=\frac{S\_{l}-\bar{S}}{d}, l \in[1, k]$$" + "\n"
    )
    assert render(markdown).endswith(f"<p>$${tex}$$</p>\n")
    assert image_urls(html) == []


def test_a_formula_s_tex_is_escaped_so_commonmark_shows_it_exactly():
    shown = r"l=\operatorname{std}\left\{a_{i j}\right\}* \operatorname{num}(a_{i j}>0) \\ x"
    markdown = html_to_markdown(body(block_formula(shown.replace(">", "&gt;"), SVG_M1)))
    assert markdown == (
        r"$$l=\operatorname{std}\left\\{a\_{i j}\right\\}\* \operatorname{num}"
        r"(a\_{i j}>0) \\\ x$$" + "\n"
    )
    assert render(markdown) == "<p>$$" + shown.replace(">", "&gt;") + "$$</p>\n"


def test_a_block_formula_in_a_table_cell_is_written_inline():
    html = body(
        f"<table><tr><th>指标</th></tr><tr><td>{block_formula('a|b', SVG_M1)}</td></tr></table>"
    )
    assert html_to_markdown(html) == "| 指标 |\n| --- |\n| $a\\|b$ |\n"


def test_a_bracket_in_a_formula_is_escaped_only_where_it_could_make_a_link():
    html = body("<p>" + inline_formula(r"l \in[1, k] \left[0,1\right](x)", SVG_M1) + "</p>")
    assert html_to_markdown(html) == r"$l \in[1, k] \left[0,1\right\](x)$" + "\n"
    html = body(f'<p><a href="https://example.com/">区间{inline_formula("[a]", SVG_M1)}</a></p>')
    assert html_to_markdown(html) == r"[区间$\[a\]$](https://example.com/)" + "\n"


def test_emphasis_never_splits_a_formula():
    # "**$x$**粗体" cannot close before a Chinese character: the bold goes, the formula stays.
    html = body(f"<p><strong>{inline_formula('x*y', SVG_M1)}</strong>粗体</p>")
    assert html_to_markdown(html) == r"$x\*y$粗体" + "\n"
    html = body(f"<p><strong>设{inline_formula('x', SVG_M1)}为</strong>常数</p>")
    assert html_to_markdown(html) == "**设$x$为**常数\n"


def test_a_formula_in_code_is_its_tex_in_the_code():
    html = body(f"<pre><code>x = {inline_formula('a_b', SVG_M1)}\ny</code></pre>")
    assert html_to_markdown(html) == "```\nx = $a_b$\ny\n```\n"


def test_a_mathjax_svg_without_kept_tex_is_written_back_as_tex_from_its_mathml():
    fraction = mml(
        "mfrac",
        mml("mrow", leaf("mi", "\U0001d447"), leaf("mi", "\U0001d443")),
        leaf("mi", "\U0001d443"),
    )
    svg = mathjax_svg(
        leaf("mi", "\U0001d443"), leaf("mo", "="), fraction, leaf("mo", "\u2212"), leaf("mn", "1")
    )
    html = body(f"<p>准确率，即<span><br></span><span>{svg}</span></p>")
    assert html_to_markdown(html) == "准确率，即\\\n$P=\\frac{TP}{P}-1$\n"


@pytest.mark.parametrize(
    ("children", "tex"),
    [
        # MathJax draws a msubsup's superscript before its subscript: the raised one is it.
        (
            [
                mml(
                    "msubsup",
                    leaf("mi", "S"),
                    leaf("mi", "\u2032", at="701.4, 413"),
                    leaf("mi", "l", at="613, -247"),
                )
            ],
            r"S_{l}^{\prime}",
        ),
        ([mml("mover", leaf("mi", "S"), leaf("mo", "\u00af", at="179.8, 221"))], r"\bar{S}"),
        (
            [
                mml(
                    "msqrt",
                    mml("mrow", leaf("mi", "a"), leaf("mo", "\u22c5"), leaf("mi", "b")),
                    leaf("mo", "\u221a"),
                )
            ],
            r"\sqrt{a\cdot b}",
        ),
        (
            [
                leaf("mn", "1.5"),
                leaf("mo", "\u00d7"),
                mml(
                    "msup",
                    leaf("mn", "10"),
                    mml("TeXAtom", leaf("mo", "\u2212"), leaf("mn", "4"), at="1, 413"),
                ),
            ],
            r"1.5\times {10}^{-4}",
        ),
        ([leaf("mi", "RNA"), mml("TeXAtom", glyph("@")), leaf("mi", "x")], r"\mathrm{RNA}@x"),
        ([mml("mo", glyph("\u239b"), glyph("\u239c"), glyph("\u239d"))], "("),
    ],
)
def test_mathml_elements_are_written_back_as_their_tex(children, tex):
    markdown = html_to_markdown(body(f"<p>{mathjax_svg(*children)}</p>"))
    assert markdown == "$" + tex.replace("_", "\\_") + "$\n"


def test_a_mathjax_table_is_written_back_as_an_array():
    row = mml("mtr", mml("mtd", leaf("mi", "a")), mml("mtd", leaf("mn", "0")))
    row2 = mml("mtr", mml("mtd", leaf("mn", "0")), mml("mtd", leaf("mi", "b")))
    svg = mathjax_svg(mml("mtable", row, row2))
    markdown = html_to_markdown(body(f"<p>{svg}</p>"))
    assert markdown == r"$\begin{array}{cc}a & 0 \\\ 0 & b\end{array}$" + "\n"
    assert render(markdown) == r"<p>$\begin{array}{cc}a &amp; 0 \\ 0 &amp; b\end{array}$</p>" + "\n"


def test_a_mathjax_svg_whose_mathml_is_not_written_back_is_left_out_as_before():
    svg = mathjax_svg(mml("menclose", leaf("mi", "a")))
    assert html_to_markdown(body(f"<p>矩阵{svg}如下</p>")) == "矩阵如下\n"


def test_a_formula_embed_without_its_tex_stays_an_image():
    html = body(
        f'<section data-formula="" data-formula-type="block-equation">{FORMULA_EMBED}</section>'
    )
    url = "https://mmbiz.qpic.cn/mmbiz_svg/Formula1/0?wx_fmt=svg&from=appmsg"
    assert html_to_markdown(html) == f"![]({url})\n"
    assert image_urls(html) == [url]


# ------------------------------------------------------------------ 3. broken emphasis


def rendered_text(markdown: str) -> str:
    """The text a reader sees (tags dropped): a literal "*" here is emphasis gone wrong."""
    return re.sub(r"<[^>]+>", "", render(markdown)).strip()


def test_italics_right_after_bold_render_as_both():
    html = body("<p><strong>发表期刊：</strong><em>iMeta</em></p>")
    markdown = html_to_markdown(html)
    assert markdown == "**发表期刊：**_iMeta_\n"
    assert render(markdown) == "<p><strong>发表期刊：</strong><em>iMeta</em></p>\n"


def test_italic_punctuation_after_bold_renders():
    html = body("<p>该成果发表于<strong>Nature Biotechnology</strong><em>。</em></p>")
    assert rendered_text(html_to_markdown(html)) == "该成果发表于Nature Biotechnology。"


def test_a_space_at_the_end_of_bold_italics_touching_bold_goes_between_them():
    html = body(
        "<p><strong>1</strong>、<strong><em>FAP+ </em></strong>"
        "<strong>CAFs在肝癌中显著增加</strong></p>"
    )
    markdown = html_to_markdown(html)
    assert markdown == "**1**、***FAP+*** **CAFs在肝癌中显著增加**\n"
    assert rendered_text(markdown) == "1、FAP+ CAFs在肝癌中显著增加"


def test_bold_around_several_links_goes_inside_each_link():
    html = body(
        '<p>我们在<strong><a href="https://example.com/a">RNA-Seq</a>'
        '<a href="https://example.com/b">系列中</a></strong>已经说明</p>'
    )
    markdown = html_to_markdown(html)
    assert markdown == (
        "我们在[**RNA-Seq**](https://example.com/a)[**系列中**](https://example.com/b)已经说明\n"
    )
    assert render(markdown).count("<strong>") == 2


def test_bold_around_punctuation_and_a_link_goes_inside_the_link():
    html = body(
        '<p>图谱<strong>，<a href="https://example.com/a">【猕猴图谱】</a></strong>等。</p>'
    )
    markdown = html_to_markdown(html)
    assert markdown == "图谱，[**【猕猴图谱】**](https://example.com/a)等。\n"
    assert "<strong>【猕猴图谱】</strong>" in render(markdown)


def test_bold_signs_between_chinese_words_leave_no_stars():
    html = body("<p>数据<strong><span>−</span></strong>信息<strong><span>−</span></strong>知识</p>")
    assert rendered_text(html_to_markdown(html)) == "数据−信息−知识"


# ------------------------------------------------------------------ 5. code line for line


def test_two_blank_lines_in_code_stay_two():
    html = body("<pre><code>}<br><br><br>all_gene_sets = msigdbr()</code></pre>")
    assert html_to_markdown(html) == "```\n}\n\n\nall_gene_sets = msigdbr()\n```\n"


def test_longer_runs_of_blank_lines_in_code_are_two():
    html = body("<pre><code>a<br><br><br><br><br>b</code></pre>")
    assert html_to_markdown(html) == "```\na\n\n\nb\n```\n"


def test_blank_lines_of_one_code_element_a_line_are_kept():
    html = body(
        '<pre class="code-snippet__js"><code><span leaf="">x &lt;- 1</span></code>'
        '<code><span leaf=""><br></span></code><code><span leaf=""><br></span></code>'
        '<code><span leaf="">y &lt;- 2</span></code></pre>'
    )
    assert html_to_markdown(html) == "```js\nx <- 1\n\n\ny <- 2\n```\n"


def test_blank_lines_of_code_in_a_list_item_keep_its_indent_elsewhere():
    html = body("<ul><li><pre><code>a<br><br>b</code></pre></li></ul>")
    assert html_to_markdown(html) == "- ```\n  a\n\n  b\n  ```\n"


def test_nested_blocks_in_code_end_one_line_not_several():
    html = body(
        "<pre><section><section><p>来源：深度学习爱好者</p></section></section>"
        "<section><section><p>本文共3100字</p></section></section></pre>"
    )
    assert html_to_markdown(html) == "```\n来源：深度学习爱好者\n本文共3100字\n```\n"


def test_code_written_as_a_list_in_pre_is_a_code_block():
    html = body(
        '<pre><ol class="list-paddingleft-1"><li><p><span leaf="">def f():</span></p></li>'
        '<li><p><span leaf="">&nbsp; &nbsp; return 1</span></p></li></ol></pre>'
    )
    assert html_to_markdown(html) == "```\ndef f():\n    return 1\n```\n"


# ------------------------------------------------------------------ 6. sup and sub


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("10<sup>6</sup>个细胞", "10⁶个细胞"),
        ("CD4<sup>+</sup> T细胞", "CD4⁺ T细胞"),
        ("浓度为10<sup>-6</sup> mol/L", "浓度为10⁻⁶ mol/L"),
        ("H<sub>2</sub>O", "H₂O"),
        ("R<sup>2</sup> = 0.93", "R² = 0.93"),
    ],
)
def test_superscripts_and_subscripts_with_unicode_forms_use_them(html, markdown):
    assert html_to_markdown(body(f"<p>{html}</p>")) == markdown + "\n"


def test_other_superscripts_and_subscripts_are_marked_with_a_caret_or_underscore():
    html = body("<p>Apc<sup>min/+</sup>小鼠，T<sub>max</sub>为峰时</p>")
    markdown = html_to_markdown(html)
    assert markdown == "Apc^(min/+)小鼠，T_(max)为峰时\n"
    assert rendered_text(markdown) == "Apc^(min/+)小鼠，T_(max)为峰时"


def test_symbols_and_bracketed_references_in_superscript_stay_as_they_are():
    html = body("<p>Matrix NEO<sup>®</sup>见官网<sup>[1]</sup></p>")
    assert html_to_markdown(html) == "Matrix NEO®见官网[1]\n"


def test_a_hyphen_alone_in_superscript_stays_a_hyphen():
    html = body("<p>CD4<sup>-</sup>/8<sup>-</sup>细胞</p>")
    assert html_to_markdown(html) == "CD4-/8-细胞\n"


# ------------------------------------------------------------------ 4. a list in a list


def test_a_list_placed_directly_in_a_list_is_the_previous_items_sublist():
    html = body(
        "<ol><li>服务器的基本概念：</li><ol><li>节点</li><li>端口</li></ol>"
        "<li>服务器的基本设置和管理：</li><ol><li>如何配置新服务器</li></ol></ol>"
    )
    markdown = html_to_markdown(html)
    assert markdown == (
        "1. 服务器的基本概念：\n   1. 节点\n   2. 端口\n"
        "2. 服务器的基本设置和管理：\n   1. 如何配置新服务器\n"
    )
    assert render(markdown).count("<ol>") == 3


def test_a_bullet_list_directly_in_a_bullet_list_keeps_its_nesting():
    html = body(
        "<ul><li><section><p><strong>R文件夹</strong>：存放R代码</p></section></li>"
        "<ul><li><section>一个函数</section></li><li><section>一个函数家族</section></li></ul>"
        "<li><section><p>.gitignore文件</p></section></li></ul>"
    )
    rendered = render(html_to_markdown(html))
    assert rendered.count("<ul>") == 2
    inner = rendered[rendered.index("<ul>", 1) : rendered.index("</ul>")]
    assert "一个函数家族" in inner and "R文件夹" not in inner and ".gitignore" not in inner


# ------------------------------------------------------------------ 7. table spans


def test_cells_below_a_rowspan_stay_in_their_columns():
    html = body(
        "<table><tbody><tr><th>组别</th><th>基因</th><th>表达</th></tr>"
        '<tr><td rowspan="2" colspan="1">肿瘤</td><td>TP53</td><td>高</td></tr>'
        "<tr><td>EGFR</td><td>低</td></tr>"
        '<tr><td colspan="2">合计</td><td>2</td></tr></tbody></table>'
    )
    assert html_to_markdown(html) == (
        "| 组别 | 基因 | 表达 |\n| --- | --- | --- |\n| 肿瘤 | TP53 | 高 |\n"
        "|  | EGFR | 低 |\n"
        "| 合计 |  | 2 |\n"
    )


def test_a_rowspan_in_the_last_column_pads_the_rows_below():
    html = body(
        '<table><tr><td>转化医学周</td><td rowspan="3">报名</td></tr>'
        "<tr><td>第一天</td></tr><tr><td>第二天</td></tr>"
        "<tr><td>第三天</td><td>现场</td></tr></table>"
    )
    rows = [line for line in html_to_markdown(html).splitlines() if "---" not in line]
    assert rows == [
        "| 转化医学周 | 报名 |",
        "| 第一天 |  |",
        "| 第二天 |  |",
        "| 第三天 | 现场 |",
    ]


# ------------------------------------------------------------------ 8. decoration


def test_a_background_strip_no_higher_than_a_line_is_decoration_not_an_image():
    html = body(
        '<section style="width: 100%;height: 20px;background-repeat: no-repeat;'
        "background-size: 100% 100% !important;background-image: url(&quot;"
        'https://mmbiz.qpic.cn/sz_mmbiz_png/Strip1/640?wx_fmt=png&quot;);">'
        '<svg viewBox="0 0 1 1" style="float:left;width:0;"></svg></section><p>正文</p>'
    )
    assert html_to_markdown(html) == "正文\n"
    assert image_urls(html) == []


def test_a_background_picture_of_its_own_height_stays_an_image():
    url = "https://mmbiz.qpic.cn/mmbiz_jpg/Picture1/640?wx_fmt=jpeg"
    html = body(
        f'<section style="height: 168px;width: 292px;background-image: url(&quot;{url}&quot;);'
        'background-size: 100%;"><p>图上的字</p></section>'
    )
    assert html_to_markdown(html) == f"![]({url})\n\n图上的字\n"
