"""Labelled credit lines → author, source, editor (feedsvc.extract.bylines)."""

from __future__ import annotations

import pytest

from feedsvc.extract.bylines import find_authors, find_editors, find_source, split_names


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("全媒体记者 熊洲", ["熊洲"]),
        ("记者 张三 通讯员 李四 王五", ["张三", "李四", "王五"]),
        ("（记者陈智 整合）", ["陈智"]),
        ("2019-09-26 12:11来源：证券时报网作者：李在山", ["李在山"]),
        ("文/张三", ["张三"]),
        ("采写：南都见习记者 林子沛", ["林子沛"]),
        ("执笔/叨叨姐、胡一刀&李小飞刀", ["叨叨姐", "胡一刀", "李小飞刀"]),
        ("图片来源：每经记者 张蕊 摄", []),
        ("作者：未知", []),
        ("文化活动丰富多彩", []),
    ],
)
def test_author_lines(line: str, authors: list[str]) -> None:
    assert find_authors([line]) == authors


@pytest.mark.parametrize(
    ("line", "source"),
    [
        ("2021-12-08 09:58   稿源:慈溪新闻网-慈溪日报", "慈溪新闻网-慈溪日报"),
        ("发布时间：2021年12月7日 10:12 来源：慈溪日报 作者：记者 胡蓉", "慈溪日报"),
        ("来源：证券时报网作者：李在山", "证券时报网"),
        ("来源：网络", None),
        ("信息来源于网络", None),
    ],
)
def test_source_lines(line: str, source: str | None) -> None:
    assert find_source([line]) == source


def test_editors_from_header_banner_and_footer_line_add_up() -> None:
    assert find_editors(["责任编辑:范田圆 胡兴家", "报料热线:63012345", "责任编辑胡兴家"]) == ["范田圆", "胡兴家"]
    assert find_editors(["责任编辑：杨倩_NF4425"]) == ["杨倩"]
    assert find_editors(["责任编辑：", "尹世杰"]) == ["尹世杰"]
    assert find_editors(["新京报记者 陆一夫 / 编辑 刘晓阳 校对 李铭"]) == ["刘晓阳"]


def test_lead_credit_in_brackets() -> None:
    lead = "本报讯（全媒体记者 孙晓峰 通讯员 杨帆）昨天下午，宁波杭州湾新区举行重大产业项目集中签约活动。"
    assert find_authors([], lead=lead) == ["孙晓峰", "杨帆"]
    assert find_authors([], lead="新华社巴黎12月9日电（记者唐霁）法国9日再次爆发全国跨行业大罢工。") == ["唐霁"]
    assert find_authors([], lead="（图片由市文旅局提供）昨天，展览开幕。") == []


def test_split_names_drops_cms_ids_and_placeholders() -> None:
    assert split_names("杨倩_NF4425 、 admin 未知 kingname") == ["杨倩", "kingname"]


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("記者 林悅／台北報導", ["林悅"]),
        ("聯合報 記者陳嘉寧／桃園機場報導", ["陳嘉寧"]),
        ("示例晚报记者马俊峰/文 受访者供图", ["马俊峰"]),
        ("来源：示例网 作者： 责任编辑：肖春芳", []),
        ("作者：记者 胡蓉 通讯员 陈佳", ["胡蓉", "陈佳"]),
    ],
)
def test_more_author_lines(line: str, authors: list[str]) -> None:
    assert find_authors([line]) == authors


def test_traditional_editor_label() -> None:
    assert find_editors(["責任編輯：王小明"]) == ["王小明"]
