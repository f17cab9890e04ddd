"""Article body HTML → CommonMark (+ GFM tables), the way a reader would want it.

Three stages, all pure (no I/O), one module each:

1. `preclean` (selectolax/lexbor, fast): drop scripts, styles and editor markers, resolve lazy
   images (`data-src`), keep formulas as their TeX (`formulas`: the `data-formula` an editor
   kept, or what a MathJax SVG's MathML data spells), turn `background-image:url(…)`, SVG
   `<image>`, `<embed>` pictures and stickers into `<img>`, each a pass of its own; the
   `<span leaf>`/`<span textstyle>`/`<font>` wrappers and the sections that only hold blocks
   are left out as the tree is copied (`preclean.Copying`, one visit a node, the tree at most
   `api.MAX_DEPTH` deep; CSS bold and strikethrough become `<b>` and `<s>` there), so the second
   stage walks a much smaller tree (and copies only the attributes it reads, listed in `tags`).
2. `converter`: `Converter`, one module-level `markdownify.MarkdownConverter` subclass fed the
   cleaned tree copied into `harvester.htmltree` (no serialising and re-parsing). It tracks
   `<pre>`/link/cell/heading context itself (upstream calls `find_parent('pre')` for every
   tag and text node) and writes *sentinels* (`sentinels`: Unicode noncharacters, which never
   occur in real text) for everything whose final spelling depends on the neighbours: line
   kinds, `<br>`, bold/italic/strike markers, literal `*` `_` `~`, link and image brackets,
   code spans. Its rules for WeChat embeds are in `embeds`, for code in `code`, for links in
   `links`; text is cleaned and escaped by `text`.
3. `finish` resolves the sentinels line by line: emphasis nesting is flattened, empty runs
   dropped, punctuation/whitespace moved outside the markers until CommonMark's flanking rules
   make them render, touching runs kept apart (or merged where CommonMark cannot show them
   apart) (`emphasis`); a literal `*`/`_`/`~` is escaped only where it could pair with another
   delimiter; text that would start a block (`1. `, `# `, `>`, `---`…) is escaped only at the
   start of a line.

A formula is written `$TeX$`, a display formula `$$TeX$$` as a paragraph of its own, kept whole
by `finish` and escaped (`text.escape_tex`) so a page rendered from the Markdown shows the TeX
exactly (for MathJax on that page to typeset). `api` holds the entry points re-exported here.
Links to other WeChat articles are rewritten with `harvester.links.parse_link`. Embeds (video,
audio, music, account cards, channel videos, mini programs, votes, products) become one line,
with a link wherever the embed carries one; their details go where a reader meets them without
text the page lacks (a video's cover as its image, an account's signature as the link's title).
"""

from harvester.markdown.api import (
    BodyTemplate,
    ConvertedBody,
    convert_body,
    convert_template,
    html_to_markdown,
)
from harvester.markdown.preclean import image_urls

__all__ = [
    "BodyTemplate",
    "ConvertedBody",
    "convert_body",
    "convert_template",
    "html_to_markdown",
    "image_urls",
]
