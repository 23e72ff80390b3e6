"""Dates as Chinese news pages print them → aware datetimes in the site's zone (feedsvc.extract.dates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from feedsvc.extract.dates import date_from_url, find_dates, parse_date, parse_iso

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 12, 10, 12, 0, tzinfo=SH)


def at(*parts: int, tz: ZoneInfo = SH) -> datetime:
    return datetime(*parts, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-12-08 09:58", at(2021, 12, 8, 9, 58)),
        ("2021-12-08 09:58:07", at(2021, 12, 8, 9, 58, 7)),
        ("2021年12月8日 09:58", at(2021, 12, 8, 9, 58)),
        ("2021年12月08日09:58", at(2021, 12, 8, 9, 58)),
        ("2021年12月8日 09时58分", at(2021, 12, 8, 9, 58)),
        ("2021/12/08", at(2021, 12, 8)),
        ("2021.12.08", at(2021, 12, 8)),
        ("2021-12-08", at(2021, 12, 8)),
        ("发布时间：2021-12-08 09:58 来源：慈溪日报", at(2021, 12, 8, 9, 58)),
        ("2021-12-08 09:58\u00a0\u00a0\u00a0稿源:慈溪新闻网-慈溪日报", at(2021, 12, 8, 9, 58)),
        # Adjacent elements can leave no space between date and time.
        ("2019-09-3007:42", at(2019, 9, 30, 7, 42)),
        # Two-digit year, only with a time after it.
        ("18-03-08 23:16", at(2018, 3, 8, 23, 16)),
    ],
)
def test_absolute_forms(text: str, expected: datetime) -> None:
    value = parse_date(text, timezone="Asia/Shanghai", now=NOW)
    assert value == expected
    assert value.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-12-08T09:58:00+08:00", at(2021, 12, 8, 9, 58)),
        ("2021-12-08T01:58:00Z", at(2021, 12, 8, 9, 58)),
        ("2021-12-08T09:58:00.123+0800", at(2021, 12, 8, 9, 58, 0, 123000)),
        ("2021-12-07T20:58:00-05:00", at(2021, 12, 8, 9, 58)),
    ],
)
def test_iso_8601_with_offsets(text: str, expected: datetime) -> None:
    assert parse_date(text, timezone="Asia/Shanghai", now=NOW) == expected


def test_iso_without_offset_is_read_in_the_site_zone() -> None:
    value = parse_iso("2021-12-08T09:58:00", timezone="America/New_York")
    assert value == at(2021, 12, 8, 9, 58, tz=ZoneInfo("America/New_York"))


def test_naive_time_is_read_in_the_given_zone_not_utc() -> None:
    ny = parse_date("2021-07-01 09:00", timezone="America/New_York", now=NOW)
    assert ny.utcoffset() == timedelta(hours=-4)  # summer time applies
    assert parse_date("2021-12-08 09:58", timezone="Asia/Shanghai", now=NOW).utcoffset() == timedelta(hours=8)


def test_year_less_takes_the_year_of_now() -> None:
    assert parse_date("12-08 09:58", timezone="Asia/Shanghai", now=NOW) == at(2021, 12, 8, 9, 58)
    assert parse_date("12月8日 09:58", timezone="Asia/Shanghai", now=NOW) == at(2021, 12, 8, 9, 58)


def test_year_less_in_the_future_means_last_year() -> None:
    new_year = datetime(2022, 1, 2, 8, 0, tzinfo=SH)
    assert parse_date("12-31 22:15", timezone="Asia/Shanghai", now=new_year) == at(2021, 12, 31, 22, 15)


def test_year_less_takes_the_year_of_a_reference_when_given() -> None:
    # The page's own meta date says which year "10-08 12:00" is in; the crawl clock does not.
    meta = at(2019, 10, 8, 12, 0, 57)
    assert parse_date("发布时间：10-08 12:00", timezone="Asia/Shanghai", now=NOW, reference=meta) == at(2019, 10, 8, 12, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3小时前", NOW - timedelta(hours=3)),
        ("5分钟前", NOW - timedelta(minutes=5)),
        ("昨天 09:58", at(2021, 12, 9, 9, 58)),
        ("今天 08:01", at(2021, 12, 10, 8, 1)),
        ("前天", at(2021, 12, 8)),
        ("2天前", NOW - timedelta(days=2)),
        ("刚刚", NOW),
    ],
)
def test_relative_forms_count_back_from_now(text: str, expected: datetime) -> None:
    assert parse_date(text, timezone="Asia/Shanghai", now=NOW) == expected


def test_relative_matches_are_marked_relative() -> None:
    found = find_dates("更新于3小时前", timezone="Asia/Shanghai", now=NOW)
    assert [f.relative for f in found] == [True]
    assert found[0].has_time


def test_copyright_year_ranges_and_phone_numbers_are_not_dates() -> None:
    for text in ("Copyright(C) 2005-2024 www.CXnews.cn All Rights Reserved.",
                 "版权所有 © 2003-2021", "报料热线:63012345", "浙ICP备06028381号-1", "2021"):
        assert parse_date(text, timezone="Asia/Shanghai", now=NOW) is None, text


def test_impossible_dates_are_rejected() -> None:
    assert parse_date("2021-02-30 10:00", timezone="Asia/Shanghai", now=NOW) is None
    assert parse_date("2021-13-01", timezone="Asia/Shanghai", now=NOW) is None
    assert parse_date("2099-01-01", timezone="Asia/Shanghai", now=NOW) is None


def test_find_dates_keeps_text_order_and_precision() -> None:
    found = find_dates("2021-12-08 09:58 来源：慈溪日报 更新：2021年12月9日", timezone="Asia/Shanghai", now=NOW)
    assert [f.value for f in found] == [at(2021, 12, 8, 9, 58), at(2021, 12, 9)]
    assert [f.has_time for f in found] == [True, False]
    assert found[0].start == 0


def test_unix_timestamps_from_meta_tags() -> None:
    assert parse_date("1638928680", timezone="Asia/Shanghai", now=NOW) == datetime(2021, 12, 8, 1, 58, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://www.cxnews.cn/system/2021/12/08/030312345.shtml", at(2021, 12, 8)),
        ("http://news.example.cn/a/202112/08/t20211208_123.html", at(2021, 12, 8)),
        ("http://gov.example.cn/art/t20211208_123.html", at(2021, 12, 8)),
        ("http://www.example.cn/2021-12/08/c_1128.htm", at(2021, 12, 8)),
        ("http://www.example.cn/20211208/abc.html", at(2021, 12, 8)),
    ],
)
def test_date_in_url(url: str, expected: datetime) -> None:
    assert date_from_url(url, timezone="Asia/Shanghai") == expected


def test_url_without_a_date() -> None:
    assert date_from_url("http://www.cxnews.cn/cixi/index_2.shtml", timezone="Asia/Shanghai") is None
    assert date_from_url("http://www.cxnews.cn/a/1234567890.html", timezone="Asia/Shanghai") is None
    # The host is not the path: a date-like host name says nothing.
    assert date_from_url("http://20211208.example.cn/a.html", timezone="Asia/Shanghai") is None


def test_empty_input() -> None:
    assert parse_date("", timezone="Asia/Shanghai", now=NOW) is None
    assert parse_date(None, timezone="Asia/Shanghai", now=NOW) is None


@pytest.mark.parametrize(("text", "url", "expected"), [
    ("12-08 16:40", "http://x.cn/system/2021/12/08/1.shtml", at(2021, 12, 8, 16, 40)),
    ("12月31日 23:50", "http://x.cn/system/2022/01/01/1.shtml", at(2021, 12, 31, 23, 50)),
    ("01-01 00:10", "http://x.cn/c/2021-12/31/content_1.htm", at(2022, 1, 1, 0, 10)),
])
def test_a_year_less_date_takes_the_year_nearest_the_url_date(text: str, url: str, expected: datetime) -> None:
    # Years after the URL's: the crawl clock (2026) must not give the year.
    anchor = date_from_url(url)
    assert parse_date(text, now=datetime(2026, 11, 30, tzinfo=SH), anchor=anchor) == expected
    assert parse_date(text, now=datetime(2026, 11, 30, tzinfo=SH), reference=NOW, anchor=anchor) == expected


def test_us_order_with_am_pm() -> None:
    now = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    sh = ZoneInfo("Asia/Shanghai")
    assert parse_date("9/17/2004 5:54:13 AM", now=now) == datetime(2004, 9, 17, 5, 54, 13, tzinfo=sh)
    assert parse_date("12/1/2005 1:05 PM", now=now) == datetime(2005, 12, 1, 13, 5, tzinfo=sh)
    assert parse_date("1/2/2022 12:30 AM", now=now) == datetime(2022, 1, 2, 0, 30, tzinfo=sh)
    assert parse_date("2021/12/08 09:58", now=now) == datetime(2021, 12, 8, 9, 58, tzinfo=sh)
