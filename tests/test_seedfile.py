import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.frontmatter import split_front_matter
from archive.hugo import hugo_page
from harvester.document import render_article
from harvester.errors import InputError
from harvester.model import Page
from harvester.seedfile import parse_seed

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED = SHARED / "seeds" / "000_7aeaa408d48b652c.txt"

BODY = '<div><p><span leaf="">正文第一段</span></p></div>'
FOOTER = (
    '<hr>\n<a href="https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw",'
    'target="_blank" rel="noopener noreferrer">原文链接</a>\n'
)


def seed_text(front: str, byline: str = "神经修复 by Neuronlink", body: str = BODY) -> str:
    return f"---\n{front}\n---\n{byline}\n------\n{body}  \n{FOOTER}"


TYPICAL_FRONT = (
    'title: "神经修复"\ndate: 2026-01-26T00:00:16Z\ndraft: ["false"]\n'
    'tags: [\n  "fetched",\n  "Neuronlink"\n]\ncategories: ["Acdemic"]'
)


def test_seed_front_matter_gives_title_account_and_request_time():
    page = parse_seed(seed_text(TYPICAL_FRONT))
    assert (page.kind, page.title, page.account) == ("article", "神经修复", "Neuronlink")
    assert page.fetched_at == datetime(2026, 1, 26, 0, 0, 16, tzinfo=UTC)
    assert page.published_at is None
    assert page.categories == ["Acdemic"]
    assert page.tags == ["fetched", "Neuronlink"]


def test_seed_tags_in_either_order_give_the_account():
    front = TYPICAL_FRONT.replace('"fetched",\n  "Neuronlink"', '"Neuronlink",\n  "fetched"')
    assert parse_seed(seed_text(front)).account == "Neuronlink"


def test_seed_body_is_the_html_between_the_byline_and_the_footer():
    assert parse_seed(seed_text(TYPICAL_FRONT)).body_html == BODY


def test_seed_footer_link_becomes_the_short_url_and_key():
    page = parse_seed(seed_text(TYPICAL_FRONT))
    assert page.short_url == "https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw"
    assert page.url is None
    assert page.key == "s:A1E9RPbyYFRLOfhsP7B_Rw"


def test_seed_footer_with_a_long_link_gives_biz_mid_idx():
    text = seed_text(TYPICAL_FRONT).replace(
        "https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw",
        "http://mp.weixin.qq.com/s?__biz=MzkxODY4NDEwMA==&amp;mid=2247490918&amp;idx=1"
        "&amp;sn=569a021342862b9c318bcfaeaf76a505&amp;scene=21#wechat_redirect",
    )
    page = parse_seed(text)
    assert page.key == "MzkxODY4NDEwMA==:2247490918:1"
    assert page.url == (
        "https://mp.weixin.qq.com/s?__biz=MzkxODY4NDEwMA==&mid=2247490918&idx=1"
        "&sn=569a021342862b9c318bcfaeaf76a505"
    )


def test_seed_title_with_unescaped_quotes_is_read_whole():
    front = TYPICAL_FRONT.replace('"神经修复"', '""细胞-细胞间交互"三种方式"')
    assert parse_seed(seed_text(front)).title == '"细胞-细胞间交互"三种方式'


def test_seed_author_key_of_the_older_variant_is_kept():
    page = parse_seed(seed_text(TYPICAL_FRONT + '\nauthor: "张三"'))
    assert page.author == "张三"


def test_seed_without_account_tag_takes_the_account_from_the_byline():
    front = TYPICAL_FRONT.replace('"fetched",\n  "Neuronlink"', '"fetched"')
    assert parse_seed(seed_text(front)).account == "Neuronlink"


def test_bare_request_without_body_is_a_link_kind():
    text = (
        '---\ntitle: "drug set enrichment"\ndate: 2022-08-20T06:22:00Z\ntags: 3D\n---\n\n'
        "https://mp.weixin.qq.com/s/OqMC69-Z9jkfo2hfWoMIlw\n"
    )
    page = parse_seed(text)
    assert (page.kind, page.title) == ("link", "drug set enrichment")
    assert page.short_url == "https://mp.weixin.qq.com/s/OqMC69-Z9jkfo2hfWoMIlw"


def test_seed_cut_before_its_footer_is_reported_as_truncated():
    text = seed_text(TYPICAL_FRONT)
    with pytest.raises(InputError, match="truncated"):
        parse_seed(text[: text.index("<hr>")])


def test_seed_of_a_page_from_elsewhere_keeps_its_link_as_url_and_key():
    text = seed_text(TYPICAL_FRONT).replace(
        "https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw", "https://zhuanlan.zhihu.com/p/1"
    )
    page = parse_seed(text)
    assert (page.url, page.short_url) == ("https://zhuanlan.zhihu.com/p/1", None)
    assert page.key == "u:" + hashlib.sha1(b"https://zhuanlan.zhihu.com/p/1").hexdigest()[:16]


def test_seed_footer_that_is_no_web_link_is_rejected():
    text = seed_text(TYPICAL_FRONT).replace(
        "https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw", "javascript:void(0)"
    )
    with pytest.raises(InputError, match="is not usable: it uses javascript:"):
        parse_seed(text)


@pytest.mark.skipif(not SEED.exists(), reason="../shared/seeds is not present in this checkout")
def test_the_project_seed_file_reads_as_its_article():
    page = parse_seed(SEED.read_text(encoding="utf-8"))
    assert (page.kind, page.title, page.account) == ("article", "神经修复与再生", "Neuronlink")
    assert page.short_url == "https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw"
    assert page.fetched_at == datetime(2026, 1, 26, 0, 0, 16, tzinfo=UTC)
    assert page.body_html.startswith("<div><section><img")
    assert page.body_html.endswith("</div>")


# --------------------------------------------------------------------------- not articles


@pytest.mark.parametrize(
    "text",
    [
        '---\ntitle: "文章"\n---\n',
        '---\ntitle: "关于"\ndate: 2020-01-01\n---\n这个站收藏文章。\n\n---\n\n联系我。\n',
        "---\ntitle: x\n---\nno footer\n",
    ],
    ids=["section", "about", "plain"],
)
def test_front_matter_over_no_article_is_a_document_not_truncated(text):
    page = parse_seed(text)
    assert (page.kind, page.is_article, page.key) == ("document", False, None)


@pytest.mark.parametrize(
    "cut",
    [
        lambda text: text[: text.index("<hr>")],  # the byline is there
        lambda text: (  # raw HTML alone: no byline, no `fetched` tag
            text[: text.index("<hr>")]
            .replace("神经修复 by Neuronlink\n------\n", "")
            .replace('"fetched",\n  ', "")
        ),
    ],
    ids=["byline", "html"],
)
def test_a_seed_that_lost_its_footer_is_truncated_whatever_it_kept(cut):
    with pytest.raises(InputError, match="truncated"):
        parse_seed(cut(seed_text(TYPICAL_FRONT)))


def test_a_fetched_tag_alone_marks_a_cut_seed():
    with pytest.raises(InputError, match="truncated"):
        parse_seed('---\ntitle: "x"\ntags: ["fetched", "号"]\n---\n正文被截')


# --------------------------------------------------------------------------- our own files

OWN_PAGE = Page(
    kind="picture",
    title="标题 *星* {{< x >}}",
    account="神经科学",
    author="小李",
    published_at=datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
    url="https://mp.weixin.qq.com/s?__biz=MzkxMTAwMDAwMQ==&mid=7&idx=1&sn=" + "ab" * 16,
    short_url="https://mp.weixin.qq.com/s/Own7",
    biz="MzkxMTAwMDAwMQ==",
    mid="7",
    idx="1",
    sn="ab" * 16,
    cover="https://mmbiz.qpic.cn/cover/0?wx_fmt=png",
    digest="摘要",
    original=True,
    fetched_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    categories=["Acdemic"],
)
OWN_BODY = "第一段 {{< youtube abc >}}。\n\n![](../../../images/ab/" + "ab" * 32 + ".png)\n"


def test_the_archives_own_markdown_reads_back_as_the_page_it_was_written_from():
    page = parse_seed(render_article(OWN_PAGE, OWN_BODY))
    assert page == replace(OWN_PAGE, body_markdown=OWN_BODY, status="live")


def test_a_page_the_hugo_export_wrote_reads_back_the_same():
    meta, body = split_front_matter(render_article(OWN_PAGE, OWN_BODY))
    row = {"key": OWN_PAGE.key, "status": "deleted", "kind": "picture"}
    exported, _ = hugo_page(meta, body, row)
    assert "（status: deleted）" in exported and "{{</* youtube abc */>}}" in exported
    body = OWN_BODY.replace("../../..", "")  # the export links images from the site's root
    assert parse_seed(exported) == replace(OWN_PAGE, body_markdown=body, status="deleted")


def test_an_own_file_without_a_link_is_rejected():
    text = render_article(replace(OWN_PAGE, url=None, short_url=None), OWN_BODY)
    with pytest.raises(InputError, match="names no article link"):
        parse_seed(text)
