"""archive/svg.py: an SVG that could run code when opened on its own is recognised (issue 11,
item 2); the SVGs WeChat articles carry (formulas, layouts, embedded pictures) are not."""

from __future__ import annotations

import pytest

from archive.svg import active_content

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


@pytest.mark.parametrize(
    ("svg", "reason"),
    [
        (f"<svg {NS}><script>alert(1)</script></svg>", "a <script> element"),
        (f"<svg {NS}><SCRIPT>alert(1)</SCRIPT></svg>", "a <script> element"),
        (f'<svg {NS} onload="alert(1)"/>', "an onload handler"),
        (f'<svg {NS}><rect OnClick="alert(1)"/></svg>', "an onclick handler"),
        (f"<svg {NS}><foreignObject><p>x</p></foreignObject></svg>", "a <foreignobject> element"),
        (
            f'<svg {NS}><a href="javascript:alert(1)"><text>x</text></a></svg>',
            "a script URL in href",
        ),
        (
            f'<svg {NS}><a xlink:href="java&#x09;script:alert(1)"><text>x</text></a></svg>',
            "a script URL in href",
        ),
        (
            f'<svg {NS}><a><set attributeName="href" to="javascript:alert(1)"/></a></svg>',
            "a script URL in to",
        ),
        (f'<svg {NS}><a href="data:text/html,&lt;script&gt;"/></svg>', "a script URL in href"),
        (
            f'<!DOCTYPE svg [<!ENTITY s "<script>alert(1)</script>">]><svg {NS}>&s;</svg>',
            "a <script> element",
        ),
        ('<?xml-stylesheet href="x.xsl" type="text/xsl"?><svg/>', "an xml-stylesheet instruction"),
        (f"<svg {NS}><rect></svg>", "not well-formed XML"),
    ],
)
def test_an_svg_that_could_run_code_is_named_for_what_would_run(svg, reason):
    assert active_content(svg.encode()) == reason


@pytest.mark.parametrize(
    "svg",
    [
        f'<svg {NS} width="30" height="12"><path d="M0 0h30v12z"/><text>x²</text></svg>',
        f'<svg {NS}><image href="data:image/png;base64,iVBORw0KGgo="/></svg>',
        f'<svg {NS}><a href="https://mp.weixin.qq.com/s/abc"><text>阅读</text></a></svg>',
        f'<svg {NS}><style>.a{{fill:red}}</style><g class="a"><circle r="3"/></g></svg>',
    ],
)
def test_the_svgs_articles_carry_are_harmless(svg):
    assert active_content(svg.encode()) is None
