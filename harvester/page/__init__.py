"""A served mp.weixin.qq.com page in, a Page out: what kind of page it is, its metadata, its body.

`parse_page(html, url=None)` is pure (HTML in, data out, no I/O). It reads the page with
selectolax and reads the metadata WeChat keeps in script variables with a small evaluator
for the handful of JavaScript shapes those variables take (`var x = "" || "…"`,
`window.x = '…'.html(false)`, `d.x = xml ? getXmlValue('…') : '…'`, the `window.cgiDataNew`
object literal with `JsDecode('…')` values).

The stages, one module each: `scriptdata` collects the page's data scripts and looks
variables up, reading values with `jsliteral`; `bodies` reads what post the page carries;
`classify` decides the kind (`Page.kind`, listed there), verification first; `metadata`
reads each field from its table of places; `bodies` then builds the body for the kind.

A page of none of those kinds raises `InputError("no WeChat article content found")`;
an empty string raises `InputError("empty page")`. Nothing else is raised for any str input.
For message pages the url fields come from the `url` argument (which article the message
is about); every other field is None.
"""

from harvester.page.parse import parse_page

__all__ = ["parse_page"]
