"""Every article link form WeChat and its users produce, reduced to one key; the rest refused."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.errors import InputError
from harvester.links import (
    ArticleLink,
    LinkError,
    canonical_url,
    find_article_links,
    is_article_link,
    parse_link,
    short_url,
)

BIZ = "MzIwNjU2ODk1MQ=="
MID = "2247497639"
SN = "5f2c8e1a9b3d4c6e7f8091a2b3c4d5e6"
CHKSM = "97a1c3e0a0d64af6c2b18e5c1f4b1c9d7e2f0a3b5c6d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b"
SHORT_ID = "A1E9RPbyYFRLOfhsP7B_Rw"
CANONICAL = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&idx=2&sn={SN}"
LONG = ArticleLink(
    form="long",
    key=f"{BIZ}:{MID}:2",
    url=CANONICAL,
    biz=BIZ,
    mid=MID,
    idx="2",
    sn=SN,
)
SHORT = ArticleLink(
    form="short",
    key=f"s:{SHORT_ID}",
    url=f"https://mp.weixin.qq.com/s/{SHORT_ID}",
    short_id=SHORT_ID,
)
TIMESTAMP = "1716352800"
SIGNATURE = "Xk7*Qm2v0fWcLr9pE3tYh-aZs8dNb1uJgK4oC6iV5yTqR*MnB0wHxPlUeFjD2cA="


def test_canonical_url_and_short_url_keep_their_shape():
    assert canonical_url(BIZ, MID, "2", SN) == CANONICAL
    assert canonical_url(BIZ, MID, "1", None) == (
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&idx=1"
    )
    assert short_url(SHORT_ID) == f"https://mp.weixin.qq.com/s/{SHORT_ID}"


def test_canonical_long_link_parses_to_its_key_and_itself():
    assert parse_link(CANONICAL) == LONG


def test_long_link_drops_extra_params_and_wechat_redirect_tail():
    link = (
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&idx=2&sn={SN}&chksm={CHKSM}"
        "&scene=21&key=0a1b2c&ascene=1&uin=MTIzNDU2&devicetype=iOS17.5#wechat_redirect"
    )
    assert parse_link(link) == LONG


def test_long_link_with_rd_tail_over_http():
    link = f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&idx=2&sn={SN}&chksm={CHKSM}#rd"
    assert parse_link(link) == LONG


def test_long_link_with_html_amp_escapes_from_an_href():
    link = f"https://mp.weixin.qq.com/s?__biz={BIZ}&amp;mid={MID}&amp;idx=2&amp;sn={SN}&amp;scene=21#wechat_redirect"
    assert parse_link(link) == LONG


def test_long_link_with_script_x26amp_escapes():
    link = rf"http://mp.weixin.qq.com/s?__biz={BIZ}\x26amp;mid={MID}\x26amp;idx=2\x26amp;sn={SN}\x26amp;chksm={CHKSM}#rd"
    assert parse_link(link) == LONG


def test_long_link_with_double_escaped_x26amp_amp():
    link = rf"https://mp.weixin.qq.com/s?__biz={BIZ}\x26amp;amp;mid={MID}\x26amp;amp;idx=2\x26amp;amp;sn={SN}"
    assert parse_link(link) == LONG


def test_long_link_with_bare_x26_escapes():
    link = rf"https://mp.weixin.qq.com/s?__biz={BIZ}\x26mid={MID}\x26idx=2\x26sn={SN}"
    assert parse_link(link) == LONG


def test_long_link_with_json_escaped_slashes():
    link = rf"http:\/\/mp.weixin.qq.com\/s?__biz={BIZ}&amp;mid={MID}&amp;idx=2&amp;sn={SN}"
    assert parse_link(link) == LONG


def test_percent_encoded_biz_is_decoded_in_key_and_url():
    link = f"http://mp.weixin.qq.com/s?__biz=MzA3NzM2Mjc4Mw%3D%3D&mid={MID}&idx=1&sn={SN}"
    parsed = parse_link(link)
    assert parsed.biz == "MzA3NzM2Mjc4Mw=="
    assert parsed.key == f"MzA3NzM2Mjc4Mw==:{MID}:1"
    assert (
        parsed.url == f"https://mp.weixin.qq.com/s?__biz=MzA3NzM2Mjc4Mw==&mid={MID}&idx=1&sn={SN}"
    )


def test_appmsgid_itemidx_sign_names_map_to_mid_idx_sn():
    link = f"https://mp.weixin.qq.com/s?__biz={BIZ}&appmsgid={MID}&itemidx=2&sign={SN}#rd"
    assert parse_link(link) == LONG


def test_old_appmsg_show_form():
    link = (
        f"http://mp.weixin.qq.com/mp/appmsg/show?__biz={BIZ}&appmsgid={MID}&itemidx=2&sign={SN}"
        "#wechat_redirect"
    )
    assert parse_link(link) == LONG


def test_missing_idx_defaults_to_first_article_when_sn_is_there():
    parsed = parse_link(f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&sn={SN}")
    assert parsed.key == f"{BIZ}:{MID}:1"
    assert parsed.idx == "1"
    assert parsed.url == f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&idx=1&sn={SN}"


def test_long_link_without_sn_keeps_sn_none():
    parsed = parse_link(f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&idx=3")
    assert parsed.sn is None
    assert parsed.key == f"{BIZ}:{MID}:3"
    assert parsed.url == f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&idx=3"


def test_upper_case_host_is_the_same_host():
    assert parse_link(f"HTTPS://MP.WEIXIN.QQ.COM/s?__biz={BIZ}&mid={MID}&idx=2&sn={SN}") == LONG


def test_short_link():
    assert parse_link(f"https://mp.weixin.qq.com/s/{SHORT_ID}") == SHORT


def test_short_link_drops_query_and_fragment():
    assert parse_link(f"https://mp.weixin.qq.com/s/{SHORT_ID}?scene=1&click_id=2#rd") == SHORT


def test_short_link_without_scheme_and_with_surrounding_whitespace():
    assert parse_link(f"  mp.weixin.qq.com/s/{SHORT_ID}\n") == SHORT


def test_scheme_relative_short_link():
    assert parse_link(f"//mp.weixin.qq.com/s/{SHORT_ID}") == SHORT


def test_surrounding_nbsp_ideographic_space_and_zero_width_marks_are_trimmed():
    assert parse_link(f"\ufeff\u00a0http://mp.weixin.qq.com/s/{SHORT_ID}\u3000\u200b") == SHORT


def test_temporary_link_keyed_by_timestamp_and_signature():
    link = (
        f"https://mp.weixin.qq.com/s?src=11&timestamp={TIMESTAMP}&ver=5262"
        f"&signature={SIGNATURE}&new=1"
    )
    digest = hashlib.sha1((TIMESTAMP + SIGNATURE).encode()).hexdigest()[:16]
    assert parse_link(link) == ArticleLink(
        form="temporary",
        key=f"t:{digest}",
        url=(
            f"https://mp.weixin.qq.com/s?src=11&timestamp={TIMESTAMP}&ver=5262"
            f"&signature={SIGNATURE}"
        ),
    )


def test_temporary_link_with_src_3_and_amp_escapes_is_normalised_in_param_order():
    link = f"http://mp.weixin.qq.com/s?timestamp={TIMESTAMP}&amp;src=3&amp;ver=1&amp;signature={SIGNATURE}"
    parsed = parse_link(link)
    assert parsed.form == "temporary"
    assert parsed.url == (
        f"https://mp.weixin.qq.com/s?src=3&timestamp={TIMESTAMP}&ver=1&signature={SIGNATURE}"
    )


def test_temporary_key_ignores_src_ver_and_extra_params():
    first = parse_link(
        f"https://mp.weixin.qq.com/s?src=11&timestamp={TIMESTAMP}&ver=5262&signature={SIGNATURE}"
    )
    second = parse_link(
        f"mp.weixin.qq.com/s?src=3&timestamp={TIMESTAMP}&ver=1&signature={SIGNATURE}&new=1"
    )
    assert first.key == second.key


def test_link_error_is_an_input_error_with_one_line_naming_the_input():
    with pytest.raises(LinkError) as caught:
        parse_link("https://example.com/s/abc")
    assert isinstance(caught.value, InputError)
    assert str(caught.value) == (
        "'https://example.com/s/abc' is not a WeChat article link: "
        "its host is example.com, not mp.weixin.qq.com"
    )
    assert caught.value.text == "https://example.com/s/abc"
    assert caught.value.reason == "its host is example.com, not mp.weixin.qq.com"


def test_long_input_is_shortened_in_the_message():
    text = "https://example.com/" + "a" * 300
    with pytest.raises(LinkError) as caught:
        parse_link(text)
    assert str(caught.value).startswith(repr(text[:99] + "…"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "it is empty"),
        ("   \n", "it is empty"),
        ("https://example.com/s/abc", "its host is example.com, not mp.weixin.qq.com"),
        (
            "https://mp.weixin.qq.com.evil.com/s/x",
            "its host is mp.weixin.qq.com.evil.com, not mp.weixin.qq.com",
        ),
        ("https://mp.weixin.qq.com@evil.com/s/x", "its host is evil.com, not mp.weixin.qq.com"),
        ("https:///s/abc", "it has no host"),
        ("javascript:alert(1)", "it uses javascript:, not http or https"),
        ("file:///etc/passwd", "it uses file:, not http or https"),
        ("ftp://mp.weixin.qq.com/s/abc", "it uses ftp:, not http or https"),
        (
            f"https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&action=getalbum&album_id=1"
            "#wechat_redirect",
            "it is an album, not an article",
        ),
        (
            f"https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz={BIZ}&scene=124",
            "it is an account's profile page, not an article",
        ),
        (
            "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=x&target_url=y",
            "it is a verification page, not an article",
        ),
        ("https://mp.weixin.qq.com/", "it is the WeChat home page, not an article"),
        (
            f"https://mp.weixin.qq.com/mp/rumor?action=info&__biz={BIZ}",
            "its path /mp/rumor is not an article page",
        ),
        (f"https://mp.weixin.qq.com/s?mid={MID}&idx=1&sn={SN}", "it has no __biz"),
        (f"https://mp.weixin.qq.com/s?__biz={BIZ}&idx=1&sn={SN}", "it has no mid"),
        ("https://mp.weixin.qq.com/s", "it has no __biz"),
        (
            f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=22474x7639&idx=1",
            "its mid '22474x7639' is not a number",
        ),
        (
            f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&idx=one",
            "its idx 'one' is not a number",
        ),
        (
            "https://mp.weixin.qq.com/s?__biz=${window.biz}&mid=${window.mid}&idx=1",
            "its __biz '${window.biz}' is not base64",
        ),
        (
            f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}&idx=1&sn=5f2c-8e1a",
            "its sn '5f2c-8e1a' is not letters and digits",
        ),
        (f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID}", "it has neither idx nor sn"),
        ("https://mp.weixin.qq.com/s/", "its short id is empty"),
        (
            "https://mp.weixin.qq.com/s/abc.def",
            "its short id 'abc.def' is not letters, digits, _ and -",
        ),
        (
            f"https://mp.weixin.qq.com/s?src=11&signature={SIGNATURE}",
            "it has a signature but no timestamp",
        ),
        (
            f"https://mp.weixin.qq.com/s?src=11&timestamp={TIMESTAMP}",
            "it has a timestamp but no signature",
        ),
        (
            f"https://mp.weixin.qq.com/s?src=11&timestamp=soon&signature={SIGNATURE}",
            "its timestamp 'soon' is not a number",
        ),
        (f"https://mp.weixin.qq.com/s/{SHORT_ID} extra", "it contains whitespace"),
        (f"https://mp.weixin.qq.com/s/{SHORT_ID}\tx", "it contains whitespace"),
        (f"https://mp.weixin.qq.com/s/\x00{SHORT_ID}", "it contains a control character U+0000"),
        (f"https://mp.weixin.qq.com/s/{SHORT_ID}\x07", "it contains a control character U+0007"),
        (
            "https://mp.weixin.qq.com/s/A1E9\u200bRPbyYFRLOfhsP7B_Rw",
            "it contains an invisible character U+200B",
        ),
        ("http://[mp.weixin.qq.com/s/abc", "it is not a valid URL (Invalid IPv6 URL)"),
    ],
)
def test_rejects_with_reason(text, reason):
    with pytest.raises(LinkError) as caught:
        parse_link(text)
    assert caught.value.reason == reason
    assert str(caught.value).endswith(f" is not a WeChat article link: {reason}")


def test_is_article_link():
    assert is_article_link(CANONICAL)
    assert is_article_link(f"mp.weixin.qq.com/s/{SHORT_ID}")
    assert not is_article_link("https://mp.weixin.qq.com/mp/appmsgalbum?action=getalbum")
    assert not is_article_link("hello")


def test_find_article_links_in_html_dedupes_in_order_and_skips_non_articles():
    long_href = (
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&amp;mid={MID}&amp;idx=2&amp;sn={SN}"
        f"&amp;chksm={CHKSM}&amp;scene=21#wechat_redirect"
    )
    album_href = (
        f"https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&amp;action=getalbum"
        "&amp;album_id=3260#wechat_redirect"
    )
    html = f"""
    <p>上期回顾：<a href="{long_href}" data-linktype="2">神经修复与再生</a></p>
    <p><a href="https://example.com/s/abc">别处</a> <a href="{album_href}">合集</a></p>
    <p>短链：https://mp.weixin.qq.com/s/{SHORT_ID}，欢迎转发。</p>
    <p><a href="http://mp.weixin.qq.com/s?__biz={BIZ}&amp;mid={MID}&amp;idx=2&amp;sn={SN}#rd">再看</a></p>
    <p><a href="https://mp.weixin.qq.com/s/{SHORT_ID}?scene=1">又一次</a></p>
    """
    assert find_article_links(html) == [LONG, SHORT]


def test_find_article_links_in_script_with_x26amp_escapes():
    script = (
        'var msg_link = "http://mp.weixin.qq.com/s?__biz='
        + BIZ
        + rf"\x26amp;mid={MID}\x26amp;idx=2\x26amp;sn={SN}\x26amp;chksm={CHKSM}#rd"
        + '";'
    )
    assert find_article_links(script) == [LONG]


def test_find_article_links_splits_links_run_together_in_text():
    other = "Q4Vp-bSzLnomggeq-FaMRw"
    text = f"<p>https://mp.weixin.qq.com/s/{SHORT_ID}https://mp.weixin.qq.com/s/{other}</p>"
    assert [link.key for link in find_article_links(text)] == [f"s:{SHORT_ID}", f"s:{other}"]


def test_find_article_links_strips_trailing_punctuation_and_markdown_brackets():
    text = (
        f"See mp.weixin.qq.com/s/{SHORT_ID}. And [this](https://mp.weixin.qq.com/s?__biz={BIZ}"
        f"&mid={MID}&idx=2&sn={SN})!"
    )
    assert find_article_links(text) == [SHORT, LONG]


def test_find_article_links_ignores_lookalike_hosts_and_script_templates():
    text = (
        "https://mp.weixin.qq.com.evil.com/s/abc xmp.weixin.qq.com/s/abc "
        "`https://mp.weixin.qq.com/s?__biz=${window.biz}&mid=${window.mid}&idx=${window.idx}`"
    )
    assert find_article_links(text) == []


URLISH = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(
        [
            "",
            "https://mp.weixin.qq.com/",
            "mp.weixin.qq.com/s/",
            "https://mp.weixin.qq.com/s?",
            f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid=",
            f"https://mp.weixin.qq.com/s?__biz={BIZ}\\x26amp;mid={MID}&idx=",
            "https://mp.weixin.qq.com/s?src=11&timestamp=",
            "//",
        ]
    ),
    st.text(),
)


@given(st.one_of(st.text(), URLISH))
def test_parse_link_raises_nothing_but_a_one_line_link_error(text):
    try:
        parsed = parse_link(text)
    except LinkError as error:
        assert "\n" not in str(error)
    else:
        assert parsed.url.startswith("https://mp.weixin.qq.com/s")
        assert parse_link(parsed.url) == parsed


@given(st.one_of(st.text(), URLISH))
def test_find_article_links_never_raises(text):
    assert all(isinstance(link, ArticleLink) for link in find_article_links(text))


@given(
    biz_bytes=st.binary(min_size=1, max_size=16),
    mid=st.integers(min_value=0, max_value=10**12).map(str),
    idx=st.integers(min_value=1, max_value=8).map(str),
    sn=st.one_of(st.none(), st.text("0123456789abcdef", min_size=32, max_size=32)),
)
def test_canonical_url_round_trips_to_the_same_key(biz_bytes, mid, idx, sn):
    biz = base64.b64encode(biz_bytes).decode()
    parsed = parse_link(canonical_url(biz, mid, idx, sn))
    assert parsed.key == f"{biz}:{mid}:{idx}"
    assert (parsed.biz, parsed.mid, parsed.idx, parsed.sn) == (biz, mid, idx, sn)
    assert parsed.url == canonical_url(biz, mid, idx, sn)


def test_a_link_carrying_a_poc_token_is_the_same_article():
    plain = parse_link(f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2247483650&idx=1&sn={SN}")
    tokened = parse_link(
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2247483650&idx=1&sn={SN}"
        "&poc_token=HPx1abcdEF-gh_ij"
    )
    short = parse_link("https://mp.weixin.qq.com/s/Xy_Z-0123456789ab?poc_token=HEcyM2mj")
    assert (tokened.key, tokened.url) == (plain.key, plain.url)
    assert (short.key, short.url) == (
        "s:Xy_Z-0123456789ab",
        "https://mp.weixin.qq.com/s/Xy_Z-0123456789ab",
    )
