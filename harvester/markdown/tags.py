"""Which tags are which, as data: what the pre-clean drops, which attributes are copied
into the converter's tree, and the sets the converter's rules test."""

from __future__ import annotations

DROP_TAGS = [
    "script",
    "style",
    "noscript",
    "template",
    "mp-style-type",
    "head",
    "title",
    "meta",
    "link",
    "base",
    "object",
    "param",
    "canvas",
    "map",
    "mpcpc",
    "mp-common-cpsad",
    "mp-pay-preview-filter",
    "mpchecktext",
    "colgroup",
]

# Attributes the converter reads; no other attribute is copied into its tree.
_KEEP_ATTRS = {
    "a": frozenset({"href"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
    "pre": frozenset({"data-lang", "data-md-container"}),  # both set by flatten_pre
    "code": frozenset({"data-lang", "data-language", "lang", "class"}),
    "ul": frozenset({"class"}),
    "iframe": frozenset({"src", "data-src", "class", "data-mpvid"}),
    "video": frozenset({"src", "poster"}),
    "audio": frozenset({"src"}),
    "source": frozenset({"src"}),
    "wx-formula": frozenset({"data-tex", "data-display"}),  # set by preclean.formulas
}
_NO_ATTRIBUTES: frozenset[str] = frozenset()


def kept_attributes(tag: str) -> frozenset[str] | None:
    """The attributes the converter reads on a tag (None: all, for images and embeds)."""
    if tag == "img" or tag.startswith(("mp", "qqmusic")):
        return None
    return _KEEP_ATTRS.get(tag, _NO_ATTRIBUTES)


# Wrappers whose Markdown is just their content as paragraphs.
WRAPPERS = frozenset(
    [
        "div",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "figure",
        "figcaption",
        "center",
        "address",
        "details",
        "summary",
        "form",
        "fieldset",
        "dl",
        "dt",
        "dd",
        "ne-p",
        "ne-card",
        "ne-quote",
        "ne-uli",
        "ne-oli",
        "textarea",
        "html",
        "body",
    ]
)
BLOCK_TAGS = (WRAPPERS - {"html", "body"}) | frozenset(
    [
        "audio",
        "blockquote",
        "caption",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "iframe",
        "li",
        "mp-common-clmusic",
        "mp-common-miniprogram",
        "mp-common-mpaudio",
        "mp-common-product",
        "mp-common-profile",
        "mp-common-qqmusic",
        "mp-common-videosnap",
        "mp-common-vote",
        "mp-miniprogram",
        "mpprofile",
        "mpvideosnap",
        "mpvoice",
        "ne-h1",
        "ne-h2",
        "ne-h3",
        "ne-h4",
        "ne-h5",
        "ne-h6",
        "ol",
        "p",
        "pre",
        "qqmusic",
        "table",
        "ul",
        "video",
    ]
)
HEADINGS = {f"h{n}": n for n in range(1, 7)} | {f"ne-h{n}": n for n in range(1, 7)}
CONTEXT_TAGS = frozenset({"a", "td", "th"}) | frozenset(HEADINGS)
# The page around an article, should a body hold any of it: the novel reader card, the
# PC QR code, the swipe tip, the mini-program dialog, accessibility button texts, the
# bottom bar.
PAGE_CHROME = [
    "#js_novel_card",
    "#js_pc_qr_code",
    "#wx_stream_article_slide_tip",
    "#js_minipro_dialog",
    '[id^="js_a11y"]',
    '[class*="js_a11y"]',
    "#js_article_bottom_bar",
    "#unlogin_bottom_bar",
]
AVATAR_HOSTS = ("wx.qlogo.cn",)  # people's and channels' avatars: never content images
SKIP = frozenset(DROP_TAGS) | {"col", "input"}
CODE_TAGS = frozenset({"code", "kbd", "samp", "tt"})
HEADING_BREAKERS = frozenset(
    [
        "ul",
        "ol",
        "table",
        "pre",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    ]
)
MEDIA = frozenset({"img", "iframe"})
CODE_BLOCKISH = frozenset({"div", "p", "section", "li", "tr", "article", "ne-p"})
