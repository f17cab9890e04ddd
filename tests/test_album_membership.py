"""Which articles are in which album, and where: `album_articles`, filled by `harvester
harvest` as the album source and the account source's album channel list an album, read
by `harvester export epub --album`."""

from __future__ import annotations

from fakeaccount import SimAccount
from fakewechat import FakeWeChat, album_item
from test_account import account_source, seed_of
from test_harvest import ALBUM_ID, ALBUM_URL, BIZ, CT, SN, add_article, harvest, query, write_config

from harvester.sources.album import parse_album_page
from harvester.sources.base import InAlbum

ALBUM_SOURCE = f'[[sources]]\nkind = "album"\nurl = "{ALBUM_URL}"\n'


def add_album(served: FakeWeChat, mids: list[int], *, title: str = "神经再生合集") -> None:
    """An album of the articles `mids` (oldest first), served newest first as WeChat does."""
    items = []
    for mid in mids:
        add_article(served, mid, ct=CT + mid)
        items.append(album_item(f"文章{mid}", BIZ, mid, 1, SN, CT + mid))
    served.add_album(BIZ, ALBUM_ID, items[::-1], title=title)


def members(archive) -> list[tuple[str, int | None]]:
    return query(
        archive,
        "SELECT key, position FROM album_articles WHERE album_id = ? ORDER BY position",
        (ALBUM_ID,),
    )


# --------------------------------------------------------------------------- pure parts


def test_a_listed_item_is_placed_counting_back_from_the_albums_article_count():
    answer = {
        "base_resp": {"ret": 0},
        "getalbum_resp": {
            "article_list": [
                album_item("新", BIZ, 12, 1, SN, CT),
                album_item("旧", BIZ, 11, 1, SN, CT),
            ],
            "continue_flag": "1",
            "base_info": {"title": "合集甲", "article_count": "30"},
        },
    }
    page = parse_album_page(answer, biz=BIZ, album_id="7", offset=20)
    assert [item.album for item in page.listings] == [
        InAlbum("7", 10, "合集甲"),
        InAlbum("7", 9, "合集甲"),
    ]
    assert page.size == 2


def test_an_albums_own_number_for_an_item_wins_and_no_count_places_none():
    numbered = {**album_item("一", BIZ, 11, 1, SN, CT), "pos_num": "3"}
    answer = {
        "getalbum_resp": {"article_list": [numbered, album_item("二", BIZ, 12, 1, SN, CT)]},
    }
    page = parse_album_page(answer, biz=BIZ, album_id="7")
    assert [item.album for item in page.listings] == [InAlbum("7", 3), InAlbum("7", None)]


def test_a_place_that_is_not_a_plain_positive_number_is_no_place():
    odd = [
        {**album_item("一", BIZ, 11 + n, 1, SN, CT), "pos_num": v}
        for n, v in enumerate(["²", "0", "-1", "x"])
    ]
    page = parse_album_page({"getalbum_resp": {"article_list": odd}}, biz=BIZ, album_id="7")
    assert [item.album for item in page.listings] == [InAlbum("7")] * 4


def test_a_page_parsed_without_an_album_id_places_nothing():
    answer = {"getalbum_resp": {"article_list": [album_item("一", BIZ, 11, 1, SN, CT)]}}
    assert parse_album_page(answer, biz=BIZ).listings[0].album is None


# --------------------------------------------------------------------------- harvesting


def test_the_album_source_remembers_each_article_at_its_place_oldest_first(
    served, archive, tmp_path, capsys
):
    add_album(served, list(range(3000, 3025)))  # 25 articles: two pages of 20
    assert harvest(capsys, write_config(tmp_path, ALBUM_SOURCE)) == (0, "", "")
    assert members(archive) == [(f"{BIZ}:{3000 + n}:1", n + 1) for n in range(25)]
    assert query(archive, "SELECT biz, album_id, title, found_by FROM account_albums") == [
        (BIZ, ALBUM_ID, "神经再生合集", "album")
    ]


def test_an_album_listed_again_after_a_new_article_keeps_each_articles_place(
    served, archive, tmp_path, capsys
):
    config = write_config(tmp_path, ALBUM_SOURCE)
    add_album(served, list(range(3000, 3025)))
    harvest(capsys, config)
    add_album(served, list(range(3000, 3026)), title="神经再生合集（续）")
    assert harvest(capsys, config) == (0, "", "")
    assert members(archive) == [(f"{BIZ}:{3000 + n}:1", n + 1) for n in range(26)]
    assert query(archive, "SELECT title FROM account_albums") == [("神经再生合集（续）",)]


def test_an_album_of_articles_already_archived_still_records_them(
    served, archive, tmp_path, capsys
):
    add_album(served, [3000, 3001])
    urls = tmp_path / "links.txt"
    urls.write_text(
        "".join(
            f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={m}&idx=1&sn={SN}\n" for m in (3000, 3001)
        ),
        encoding="utf-8",
    )
    harvest(capsys, write_config(tmp_path, '[[sources]]\nkind = "urls"\npath = "links.txt"\n'))
    assert harvest(capsys, write_config(tmp_path, ALBUM_SOURCE)) == (0, "", "")
    assert members(archive) == [(f"{BIZ}:3000:1", 1), (f"{BIZ}:3001:1", 2)]


def test_the_account_source_remembers_the_members_of_every_album_it_lists(
    served, archive, tmp_path, capsys
):
    account = SimAccount.generate(BIZ, sends=30, articles=60, albums=3, in_albums=40)
    account.install(served)
    config = write_config(tmp_path, account_source(account.link(seed_of(account))))
    assert harvest(capsys, config)[0] == 0
    assert harvest(capsys, config)[0] == 0  # the albums its pages named are listed now
    rows = query(archive, "SELECT album_id, key, position FROM album_articles")
    expected = set()
    for album_id in account.albums:
        listed = account.album_members(album_id)  # newest first
        for number, article in enumerate(listed):
            expected.add((album_id, f"{BIZ}:{article.mid}:{article.idx}", len(listed) - number))
    assert set(rows) == expected
    titles = query(archive, "SELECT album_id, title FROM account_albums WHERE biz = ?", (BIZ,))
    assert dict(titles) == account.albums
