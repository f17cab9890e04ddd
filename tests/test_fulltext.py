import pytest

from archive.fulltext import CJK_SEP, cjk_spaced, fts_query, unspace


def test_cjk_spaced_separates_cjk_characters_and_keeps_latin_words():
    z = CJK_SEP
    assert cjk_spaced("神经PTEN abc，再生") == f"神{z}经{z}PTEN abc，{z}再{z}生"


def test_unspace_restores_the_original_text():
    text = "PTEN 神经修复，Büngner带。"
    assert unspace(cjk_spaced(text)) == text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("神经", '"神 经"'),
        ("神经修复", '"神 经 修 复"'),
        ("Büngner带", '"Büngner 带"'),
        ("R语言", '"R 语 言"'),
        ("R 语言", '"R" AND "语 言"'),
        ("C++编程", '"C 编 程"'),
        ("神经，修复", '"神 经 修 复"'),
        ("神经\u3000修复", '"神 经" AND "修 复"'),
        ("PTEN 神经", '"PTEN" AND "神 经"'),
        ('a"b', '"a b"'),
        ("NEAR(", '"NEAR"'),
        ("神经 OR 修复", '"神 经" AND "OR" AND "修 复"'),
        ("", ""),
        ("  ，。!!* ", ""),
    ],
)
def test_fts_query(query, expected):
    assert fts_query(query) == expected
