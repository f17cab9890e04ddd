from datetime import UTC, datetime, timedelta, timezone

import yaml

from archive.times import iso_china
from harvester.document import front_matter, render_article
from harvester.model import Page

CHINA = timezone(timedelta(hours=8))


def sample_page(**changes) -> Page:
    fields = dict(
        kind="article",
        title="神经修复与再生",
        account="Neuronlink",
        author="小王",
        published_at=datetime(2026, 1, 26, 8, 0, 16, tzinfo=CHINA),
        url="https://mp.weixin.qq.com/s?__biz=MzkxODY4NDEwMA==&mid=2247490918&idx=1&sn=5690",
        short_url="https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw",
        original=True,
        fetched_at=datetime(2026, 2, 1, 0, 0, 0, tzinfo=UTC),
    )
    fields.update(changes)
    return Page(**fields)


def parsed_front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


def test_iso_china_writes_utc_instants_in_china_time_with_offset():
    moment = datetime(2026, 1, 26, 0, 0, 16, tzinfo=UTC)
    assert iso_china(moment) == "2026-01-26T08:00:16+08:00"


def test_front_matter_keeps_the_seed_keys_first():
    text = front_matter(sample_page(), categories=["Acdemic"])
    assert text.splitlines()[:6] == [
        "---",
        'title: "神经修复与再生"',
        "date: 2026-01-26T08:00:16+08:00",
        "draft: false",
        'tags: ["fetched", "Neuronlink"]',
        'categories: ["Acdemic"]',
    ]


def test_front_matter_is_valid_yaml_with_archive_fields():
    data = parsed_front_matter(front_matter(sample_page()))
    assert data["account"] == "Neuronlink"
    assert data["wechat_url"].startswith("https://mp.weixin.qq.com/s?__biz=")
    assert data["short_url"] == "https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw"
    assert data["original"] is True
    assert (data["wechat_kind"], data["status"]) == ("article", "live")


def test_front_matter_quotes_titles_that_would_break_yaml():
    title = '"细胞-细胞间交互": 三种 #方式\\ \u0007'
    data = parsed_front_matter(front_matter(sample_page(title=title)))
    assert data["title"] == title


def test_front_matter_escapes_characters_yaml_would_refuse_or_fold():
    title = "行\u2028分隔\x85与\x7f删除"
    data = parsed_front_matter(front_matter(sample_page(title=title)))
    assert data["title"] == title


def test_front_matter_leaves_out_unknown_values():
    text = front_matter(sample_page(author=None, cover=None, digest=None))
    assert "author:" not in text and "cover:" not in text and "digest:" not in text


def test_front_matter_date_falls_back_to_the_capture_time():
    data = parsed_front_matter(front_matter(sample_page(published_at=None)))
    assert data["date"] == datetime(2026, 2, 1, 8, 0, tzinfo=CHINA)


def test_article_file_has_byline_body_and_original_link_footer():
    text = render_article(sample_page(), "正文。\n")
    assert text.split("---\n", 2)[2] == (
        "神经修复与再生 by Neuronlink\n------\n\n正文。\n\n---\n\n"
        "[原文链接](https://mp.weixin.qq.com/s/A1E9RPbyYFRLOfhsP7B_Rw)\n"
    )


def test_byline_escapes_markdown_in_titles_so_it_reads_as_written():
    text = render_article(sample_page(title="<b>*重点*</b> [1]&amp;"), "")
    assert "\\<b\\>\\*重点\\*\\<\\/b\\> \\[1\\]\\&amp\\; by Neuronlink\n------\n" in text


def test_byline_leaves_underscores_inside_words_alone():
    text = render_article(sample_page(title="复现_单分组 _x"), "")
    assert "复现_单分组 \\_x by Neuronlink\n" in text


def test_a_nul_in_the_body_is_written_as_the_replacement_character():
    text = render_article(sample_page(), "坏\x00字\n")
    assert "\x00" not in text and "坏\ufffd字\n" in text
