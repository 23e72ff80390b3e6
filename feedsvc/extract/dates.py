"""Publication dates printed on Chinese news pages → timezone-aware datetimes.

Pure functions over strings. Naive times are read in the site's time zone. Year-less dates take the
year that puts them nearest the day the article's URL names (`anchor`: /system/2021/12/08/…), so a
guessed year never contradicts the URL; without one, the year of a reference time (the page's own
meta date when it has one, else `now`), falling back a year when that would put them in the future.
Relative times (`3小时前`, `昨天 09:58`, `刚刚`) count back from `now`. A bare year range such as a
footer's `2005-2024` never parses: a date needs a month and day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from feedsvc.extract.urls import url_date

__all__ = ["DateMatch", "date_from_url", "find_dates", "parse_date", "parse_iso"]

_TIME = r"(?:\s*|T|\s*[日号]\s*)(?P<H>[012]?\d)\s*[:：时]\s*(?P<M>[0-5]\d)(?:\s*[:：分]\s*(?P<S>[0-5]\d)(?:\.\d+)?)?(?:\s*(?P<tz>Z|[+-]\d{2}:?\d{2})(?!\d))?"
_SEP = r"\s*[-/.年]\s*"

# Full dates: 2021-12-08, 2021/12/08, 2021.12.08, 2021年12月8日, optionally with a time and offset.
_FULL = re.compile(
    r"(?<![\d.])(?P<y>(?:19|20)\d{2})" + _SEP + r"(?P<m>[01]?\d)\s*[-/.月]\s*(?P<d>[0-3]?\d)(?:(?!\d)|(?=[012]?\d[:：]))\s*[日号]?"
    r"(?:" + _TIME + r")?"
)
# Compact dates as in URLs and some CMS lines: 20211208 (only with a time, to stay clear of ids).
_COMPACT = re.compile(r"(?<!\d)(?P<y>20\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)\s+(?P<H>[012]?\d):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?(?!\d)")
# Two-digit years are ambiguous with month-day-time, so they need a time after them: 18-03-08 23:16.
_SHORT_YEAR = re.compile(
    r"(?<![\d\-/.])(?P<y>[0-3]\d)[-/.](?P<m>[01]\d)[-/.](?P<d>[0-3]\d)\s+(?P<H>[012]?\d):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?(?![\d:])"
)
# The US order ASP.NET and IIS print by default: 9/17/2004 5:54:13 AM (month first, four-digit year last).
_US = re.compile(
    r"(?<![\d/])(?P<m>[01]?\d)/(?P<d>[0-3]?\d)/(?P<y>(?:19|20)\d{2})(?![\d/])"
    r"(?:\s+(?P<H>[01]?\d):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?(?:\s*(?P<ampm>[AaPp][Mm]))?)?"
)
# Year-less: 12-08 09:58, 12/08 09:58, 12月8日 09:58, 12月8日.
_NO_YEAR_TIME = re.compile(
    r"(?<![\d\-/.:])(?P<m>[01]?\d)\s*[-/月]\s*(?P<d>[0-3]?\d)\s*[日号]?\s*(?P<H>[012]?\d)[:：](?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?(?![\d:])"
)
_NO_YEAR_CN = re.compile(r"(?<![\d年])(?P<m>[01]?\d)月(?P<d>[0-3]?\d)[日号]")
_RELATIVE_AGO = re.compile(r"(?P<n>\d+|半)\s*(?P<unit>秒钟?|分钟|小时|个?钟头|天|日|周|星期|个月)前")
_RELATIVE_DAY = re.compile(r"(?P<day>今天|今日|昨天|昨日|前天)(?:\s*(?P<H>[012]?\d)[:：](?P<M>[0-5]\d))?")
_JUST_NOW = re.compile(r"刚刚")
_UNITS = {"秒": 1, "秒钟": 1, "分钟": 60, "小时": 3600, "钟头": 3600, "个钟头": 3600, "天": 86400, "日": 86400,
          "周": 7 * 86400, "星期": 7 * 86400, "个月": 30 * 86400}
_DAYS_BACK = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}


@dataclass(frozen=True)
class DateMatch:
    """One date found in a text, with how much of it the page actually printed."""

    value: datetime
    start: int
    end: int
    has_time: bool
    has_year: bool = True
    relative: bool = False


def _zone(tz: str | timezone | ZoneInfo) -> timezone | ZoneInfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _build(y: int, m: int, d: int, hh: int, mm: int, ss: int, tz: timezone | ZoneInfo) -> datetime | None:
    try:
        return datetime(y, m, d, hh, mm, ss, tzinfo=tz)
    except ValueError:  # 2021-02-30, 25:00 and the like are not dates
        return None


def _plausible(value: datetime, now: datetime) -> bool:
    # Pages cannot be older than the web; a year past next year is an id or a phone number.
    return 1995 <= value.year <= now.year + 1


def _int(value: str | None) -> int:
    return int(value) if value else 0


def find_dates(
    text: str, *, timezone: str | ZoneInfo = "Asia/Shanghai", now: datetime, reference: datetime | None = None,
    anchor: datetime | None = None,
) -> list[DateMatch]:
    """Every date printed in `text`, in text order. Year-less dates take the year nearest `anchor` (the
    URL's date) when given, else the year of `reference` (or `now`) unless that lies in the future."""
    tz = _zone(timezone)
    now = now if now.tzinfo else now.replace(tzinfo=tz)
    found: list[DateMatch] = []
    taken: list[tuple[int, int]] = []

    def overlaps(a: int, b: int) -> bool:
        return any(a < e and s < b for s, e in taken)

    def add(match: re.Match[str], value: datetime | None, **kw: bool) -> None:
        if value is None or overlaps(match.start(), match.end()) or not _plausible(value, now):
            return
        taken.append((match.start(), match.end()))
        found.append(DateMatch(value, match.start(), match.end(), **kw))

    for m in _FULL.finditer(text):
        zone = _offset(m.group("tz")) or tz
        has_time = m.group("H") is not None
        add(m, _build(int(m.group("y")), int(m.group("m")), int(m.group("d")), _int(m.group("H")),
                      _int(m.group("M")), _int(m.group("S")), zone), has_time=has_time)
    for m in _COMPACT.finditer(text):
        add(m, _build(int(m.group("y")), int(m.group("m")), int(m.group("d")), int(m.group("H")),
                      int(m.group("M")), _int(m.group("S")), tz), has_time=True)
    for m in _US.finditer(text):
        hour = _int(m.group("H"))
        ampm = (m.group("ampm") or "").lower()
        if ampm and hour > 12:
            continue
        hour = hour % 12 + (12 if ampm == "pm" else 0) if ampm else hour
        add(m, _build(int(m.group("y")), int(m.group("m")), int(m.group("d")), hour, _int(m.group("M")),
                      _int(m.group("S")), tz), has_time=m.group("H") is not None)
    for m in _SHORT_YEAR.finditer(text):
        add(m, _build(2000 + int(m.group("y")), int(m.group("m")), int(m.group("d")), int(m.group("H")),
                      int(m.group("M")), _int(m.group("S")), tz), has_time=True)
    ref = (reference or now).astimezone(tz)
    for pattern in (_NO_YEAR_TIME, _NO_YEAR_CN):
        for m in pattern.finditer(text):
            groups = m.groupdict()
            fields = (int(m.group("m")), int(m.group("d")), _int(groups.get("H")), _int(groups.get("M")),
                      _int(groups.get("S")))
            value = _nearest_year(*fields, anchor, tz) if anchor else _year_less(*fields, ref, now, tz)
            add(m, value, has_time=groups.get("H") is not None, has_year=False)
    local_now = now.astimezone(tz)
    for m in _RELATIVE_AGO.finditer(text):
        n = 0.5 if m.group("n") == "半" else int(m.group("n"))
        seconds = n * _UNITS[m.group("unit")]
        add(m, local_now - timedelta(seconds=seconds), has_time=seconds < 86400, relative=True)
    for m in _RELATIVE_DAY.finditer(text):
        day = (local_now - timedelta(days=_DAYS_BACK[m.group("day")])).date()
        has_time = m.group("H") is not None
        value = _build(day.year, day.month, day.day, _int(m.group("H")), _int(m.group("M")), 0, tz)
        add(m, value, has_time=has_time, relative=True)
    for m in _JUST_NOW.finditer(text):
        add(m, local_now.replace(second=0, microsecond=0), has_time=True, relative=True)
    found.sort(key=lambda d: d.start)
    return found


def _year_less(month: int, day: int, hh: int, mm: int, ss: int, ref: datetime, now: datetime,
               tz: timezone | ZoneInfo) -> datetime | None:
    value = _build(ref.year, month, day, hh, mm, ss, tz)
    if value is None and month == 2 and day == 29:
        value = _build(ref.year - 1, month, day, hh, mm, ss, tz)
    # A list printed on 2 January shows 12-31 for last year's New Year's Eve.
    if value is not None and value > now + timedelta(days=1):
        value = _build(ref.year - 1, month, day, hh, mm, ss, tz)
    return value


def _nearest_year(month: int, day: int, hh: int, mm: int, ss: int, anchor: datetime,
                  tz: timezone | ZoneInfo) -> datetime | None:
    """The year-less date in the year (the anchor's, or one either side) that puts it nearest `anchor`:
    "12-31" beside /2022/01/01/ is the last day of 2021, "12-08" beside /2021/12/08/ is 2021."""
    day_of = anchor.astimezone(tz)
    candidates = [v for y in (day_of.year - 1, day_of.year, day_of.year + 1)
                  if (v := _build(y, month, day, hh, mm, ss, tz)) is not None]
    return min(candidates, key=lambda v: abs(v - day_of)) if candidates else None


def parse_date(
    text: str | None, *, timezone: str | ZoneInfo = "Asia/Shanghai", now: datetime, reference: datetime | None = None,
    anchor: datetime | None = None,
) -> datetime | None:
    """The first date in `text` (ISO 8601, Chinese and numeric forms, year-less, relative), or None.
    `reference` and `anchor` give year-less dates their year as in `find_dates`."""
    if not text:
        return None
    text = text.strip()
    iso = parse_iso(text, timezone=timezone)
    if iso is not None:
        return iso if _plausible(iso, now) else None
    found = find_dates(text, timezone=timezone, now=now, reference=reference, anchor=anchor)
    if found:
        return found[0].value
    return _epoch(text)


def parse_iso(text: str, *, timezone: str | ZoneInfo = "Asia/Shanghai") -> datetime | None:
    """ISO 8601 as found in meta tags and JSON-LD (`2021-12-08T09:58:00+08:00`, `...Z`, naive)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone(timezone))
    return value if 1995 <= value.year <= 2100 else None


def _epoch(text: str) -> datetime | None:
    # Some CMSs put a Unix timestamp (seconds or milliseconds) in their meta tags.
    if re.fullmatch(r"1\d{9}|1\d{12}", text):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    return None


def date_from_url(url: str, *, timezone: str | ZoneInfo = "Asia/Shanghai") -> datetime | None:
    """The publication day many CMSs put in article paths (/2021/12/08/, /202112/08/, t20211208_1.html),
    as read by `url_date` (which link discovery scores URLs with), at midnight in `timezone`."""
    found = url_date(url or "")
    return _build(*found, 0, 0, 0, _zone(timezone)) if found else None
