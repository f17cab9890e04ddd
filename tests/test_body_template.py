"""convert_template: a body converted once, its images placed afterwards, gives exactly
what converting it with the final image map gives (the pipeline relies on this)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.errors import InputError
from harvester.markdown import convert_body, convert_template, html_to_markdown
from harvester.reader import read_source

SHARED = Path(__file__).parents[2] / "shared"
IMG = "https://mmbiz.qpic.cn/mmbiz_png/{}/640?wx_fmt=png"
BODY = (
    f'<p>图一<img data-src="{IMG.format("a")}" alt="甲"></p>'
    f'<h2><img data-src="{IMG.format("b")}">标题</h2>'
    f'<p><a href="{IMG.format("a")}"><img data-src="{IMG.format("a")}"></a></p>'
    '<p><img src="https://mmbiz.qpic.cn/x(1)/640"></p>'
)


def test_filled_template_equals_conversion_with_the_image_map():
    local = {IMG.format("a"): "../../images/aa/aa.png", "https://mmbiz.qpic.cn/x(1)/640": "x y"}
    template = convert_template(BODY)
    assert template.fill(local) == html_to_markdown(BODY, image_map=local)


def test_unfilled_template_leaves_every_image_remote():
    template = convert_template(BODY)
    assert template.fill() == convert_body(BODY).markdown
    assert template.image_urls == convert_body(BODY).image_urls


def test_template_placeholders_never_clash_with_the_text():
    body = "<p>wximg0n0z</p>" + BODY
    template = convert_template(body)
    assert template.fill() == convert_body(body).markdown


def test_a_body_with_no_images_needs_no_filling():
    template = convert_template("<p>只有文字。</p>")
    assert template.fill({"x": "y"}) == "只有文字。\n"


def test_every_real_article_fills_to_its_conversion():
    corpus = sorted((SHARED / "corpus" / "mp_duty").glob("*"))
    if not corpus:
        pytest.skip(f"../shared/corpus not present: {SHARED / 'corpus' / 'mp_duty'} is missing")
    checked = 0
    for path in corpus + sorted((SHARED / "fixtures" / "wechat").glob("*.html")):
        try:
            page = read_source(path)
        except InputError:
            continue
        if not page.is_article:
            continue
        template = convert_template(page.body_html)
        local = {url: f"../../images/{n:02x}/{n}.png" for n, url in enumerate(template.image_urls)}
        half = dict(list(local.items())[::2])
        assert template.fill(half) == html_to_markdown(page.body_html, image_map=half), path
        checked += 1
    assert checked > 500
