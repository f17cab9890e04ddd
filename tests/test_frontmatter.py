"""archive.frontmatter: the one writer and reader of front matter."""

from datetime import datetime

import pytest
import yaml

from archive.frontmatter import split_front_matter, with_field, write_front_matter, yaml_value


def test_fields_are_written_in_order_and_none_is_left_out():
    text = write_front_matter({"title": "标题", "author": None, "tags": ["a", "b"], "n": 3})
    assert text == '---\ntitle: "标题"\ntags: ["a", "b"]\nn: 3\n---\n'


def test_dates_are_written_bare_and_a_date_that_is_not_iso_8601_is_left_out():
    fields = {"date": " 2026-01-26T08:00:16+08:00 ", "published": "昨天", "fetched": "2026-02-01"}
    assert (
        write_front_matter(fields)
        == "---\ndate: 2026-01-26T08:00:16+08:00\nfetched: 2026-02-01\n---\n"
    )


def test_a_date_text_in_another_field_is_quoted():
    assert write_front_matter({"note": "2026-01-26"}) == '---\nnote: "2026-01-26"\n---\n'


def test_yaml_value_escapes_what_yaml_would_mangle():
    assert yaml_value("a\u2028b\x85c\x7fd") == '"a\\u2028b\\u0085c\\u007fd"'


def test_what_is_written_reads_back_with_dates_as_written():
    fields = {"title": "行\u2028分隔: #x", "date": "2026-01-26T08:00:16+08:00", "draft": False}
    meta, body = split_front_matter(write_front_matter(fields) + "正文\n")
    assert meta == fields and body == "正文\n"
    assert not isinstance(meta["date"], datetime)


def test_with_field_changes_one_field_and_keeps_the_rest_as_written():
    text = write_front_matter(
        {"title": "标题", "date": "2026-01-01T08:00:00+08:00", "draft": False, "status": "live"}
    )
    assert with_field(text + "正文\n", "status", "deleted") == (
        '---\ntitle: "标题"\ndate: 2026-01-01T08:00:00+08:00\ndraft: false\n'
        'status: "deleted"\n---\n正文\n'
    )


def test_with_field_refuses_a_file_without_front_matter():
    with pytest.raises(ValueError, match="no front matter"):
        with_field("正文\n", "status", "deleted")


# DEL, the C1 controls, the noncharacters U+FFFE/U+FFFF and lone surrogates: what a hostile
# title, account or author can hold, none of which YAML (or Hugo) reads as it is.
HOSTILE_CHARACTERS = ["\x7f", *map(chr, range(0x80, 0xA0)), "\ufffe", "\uffff"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]


@pytest.mark.parametrize("character", HOSTILE_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_hostile_character_is_escaped_and_pyyaml_reads_it_back(character):
    fields = {"title": f"标{character}题", "account": f"{character}号", "author": character}
    text = write_front_matter(fields)
    assert character not in text and f"\\u{ord(character):04x}" in text
    assert yaml.safe_load(text.removeprefix("---\n").removesuffix("---\n")) == fields


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda c: f"U+{ord(c):04X}")
def test_a_lone_surrogate_is_written_as_the_replacement_character(surrogate):
    text = write_front_matter({"title": f"标{surrogate}题", "tags": [surrogate]})
    assert text == '---\ntitle: "标\ufffd题"\ntags: ["\ufffd"]\n---\n'
