"""The formula articles of ../shared/corpus/mp_duty (issue 13, item 2): every formula a page
holds, whether its TeX was kept in `data-formula` or only its MathJax SVG is there, is in the
Markdown as TeX, and none is left as a picture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from harvester.markdown import convert_body
from harvester.reader import read_source

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mp_duty"
# The corpus's five formula articles: inline SVGs with data-formula, <embed> pictures with
# data-formula, and MathJax SVGs pasted without it.
FORMULA_PAGES = {
    "006da9b1cf7087c92f8422e30f0dbdc7af11311e.md": 8,
    "015c6f3a6fe965e0b90004d1dd973e4659050dec.md": 19,
    "028b39446354b1620dd956f9eb327676b902f5f6.md": 1,
    "0eaef24a66225c32c94d0688acb180ab52f5550a.md": 1,
    "150a16a66f092a7851e2ead7baa66c0cf31b1c56.md": 1,
}
_FORMULA = re.compile(r"\$\$(?:[^$\\]|\\.)+\$\$|\$(?:[^$\\\n]|\\.)+\$")

pytestmark = pytest.mark.skipif(
    not all((CORPUS / name).is_file() for name in FORMULA_PAGES),
    reason="../shared/corpus/mp_duty (its formula articles) is not beside this checkout",
)


def _formulas_in_source(body_html: str) -> int:
    root = LexborHTMLParser(body_html).body
    kept = [n for n in root.css("[data-formula]") if n.attributes.get("data-formula", "").strip()]
    bare = [
        svg
        for svg in root.css('svg:has(g[data-mml-node="math"])')
        if not any(svg.mem_id == inner.mem_id for n in kept for inner in n.css("svg"))
    ]
    return len(kept) + len(bare)


def _formulas_in_markdown(markdown: str) -> int:
    prose = re.sub(r"```.*?```", "", markdown, flags=re.S)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    # The R code quoted in prose ("scRNA$sample.id") has dollars too: only TeX-looking runs.
    return sum(1 for f in _FORMULA.findall(prose) if not re.search(r"[\u4e00-\u9fff]", f))


@pytest.mark.parametrize(("name", "formulas"), sorted(FORMULA_PAGES.items()))
def test_every_formula_of_a_real_article_is_kept_as_tex(name, formulas):
    page = read_source(CORPUS / name)
    converted = convert_body(page.body_html)
    assert _formulas_in_source(page.body_html) == formulas
    assert _formulas_in_markdown(converted.markdown) == formulas
    assert not [url for url in converted.image_urls if "mmbiz_svg" in url]
