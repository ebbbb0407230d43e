"""Dates as sources print them: feed, sitemap and API timestamps, and listing dates.

The standard forms (epoch seconds, ISO 8601, RFC 822 with a numeric zone or a common zone
name, English or Russian month names) and the absolute forms news listings print most
("13:39, 4 May 2025", "29 апреля 2024", "4 oktyabr 2025", "04.10.2025 13:39",
"2025年10月4日") are read here by hand, in about 10 microseconds. Everything else (rarer zone
abbreviations, month names in other languages, relative forms such as "Вчера, 13:39",
"5 минут назад", "2 saat əvvəl", "昨天 13:39") goes to dateparser, imported on first need: a
few milliseconds a value once warm, and 0.2-0.6 s for its first call in a process.

Every date returned is timezone-aware: one printed without a zone is in the source's zone, one
printed with an offset or a zone name ("2025-10-04 13:39 +04:00", "1:39 PM EST") in that zone.
A day printed without a time (2025-10-04, a /2025/10/04/ path, "4 октября") has day precision
(`precision`): it is returned at noon in the source's zone only as a placeholder that stays on
its own calendar day in UTC as well (a Baku midnight is the day before in UTC), never as a time.
Clocks read AM/PM in the sources' languages (PM, 下午, 오후), numeric dates are day-first unless
the source's language writes them otherwise (English month-first, Chinese year-first), and a
date printed without a year ("4 октября", "10月4日 13:39") takes the latest such day not after
the listing's fetch time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo


class Precision(StrEnum):
    """How much of a publication time a page or listing gave: a day, or a time of day too."""

    DAY = "day"
    MINUTE = "minute"


class Kind(StrEnum):
    """Where a clue came from, its kind's weight set in _WEIGHTS."""

    PARSER = "parser"  # a per-site parser's own date
    JSON_LD = "json_ld"
    META = "meta"
    ITEMPROP = "itemprop"
    TIME = "time"  # a <time datetime> element
    PRINTED = "printed"  # a date printed for readers: the byline, a <time>'s text
    URL = "url"
    LISTING = "listing"  # the feed, sitemap or listing that linked the page
    HTMLDATE = "htmldate"  # htmldate's extensive search, with the URL


@dataclass(frozen=True)
class Clue:
    """One dated statement of a page, not yet read: its text and where it stood.

    machine: an ISO or RFC value (attribute, JSON-LD), else text printed for people.
    """

    kind: Kind
    where: str  # "meta article:published_time", "<time> in a sidebar", "byline"
    text: str
    weight: float
    machine: bool = True


class DateOrder(StrEnum):
    """The order of day, month and year in a source's numeric dates (04.10.2025)."""

    DMY = "DMY"
    MDY = "MDY"
    YMD = "YMD"


@dataclass(frozen=True)
class DateReading:
    """How a source prints dates: its time zone, its numeric date order, its languages.

    date_order None: dots mean day.month.year and slashes are left to the language's custom.
    languages: codes dateparser knows (ru, az, zh, en...); empty means every language (slow).
    """

    timezone: str = "UTC"
    date_order: DateOrder | None = None
    languages: tuple[str, ...] = ()

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    @property
    def order(self) -> DateOrder:
        """The numeric order: the source's own, else its first language's custom."""
        if self.date_order:
            return self.date_order
        language = self.languages[0] if self.languages else "en"
        return _LANGUAGE_ORDER.get(language, DateOrder.DMY)


# Languages whose numeric dates are not day-first; every other one reads 04/10/2025 as 4 October.
_LANGUAGE_ORDER = {"en": DateOrder.MDY, "zh": DateOrder.YMD, "ja": DateOrder.YMD,
                   "ko": DateOrder.YMD, "hu": DateOrder.YMD}  # fmt: skip


NOON = 12  # the hour a day printed without a time is taken at
MAX_DATE_CHARS = 64  # longer text is no date: dateparser is not asked
SLOW_VALUES_PER_PAGE = 200  # dateparser calls one listing page may cost (a few ms each)
_DAY_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
_RFC822 = re.compile(
    r"^(?:[^\W\d_]{2,3},\s*)?(\d{1,2})\s+([^\W\d_]{3,})\.?\s+(\d{2,4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|[A-Z]{1,5})$",
    re.I,
)
# Zone names as feeds print them, in hours east of UTC: RFC 822's own, and the unambiguous ones
# of the regions newsflow reads (CST, IST or BST mean several zones: dateparser decides those).
_ZONES = {
    **{name: 0 for name in ("GMT", "UT", "UTC", "Z", "WET")},
    **{"EST": -5, "EDT": -4, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7},
    **{"CET": 1, "CEST": 2, "WEST": 1, "EET": 2, "EEST": 3, "MSK": 3, "MSD": 4, "TRT": 3},
    **{"AZT": 4, "AZST": 5, "GET": 4, "HKT": 8},
}
# Month names by their first three letters (English, Russian), and Azerbaijani ones in full
# (iyun and iyul share theirs).
_AZ_MONTHS = ("yanvar", "fevral", "mart", "aprel", "may", "iyun", "iyul", "avqust", "sentyabr",
              "oktyabr", "noyabr", "dekabr")  # fmt: skip
_MONTHS = {name: number for number, name in enumerate(_AZ_MONTHS, start=1)} | {
    name: number
    for number, names in enumerate(
        (
            ("jan", "янв", "ene", "gen"),
            ("feb", "фев", "fev", "fév"),
            ("mar", "мар", "mär", "mrt"),
            ("apr", "апр", "abr", "avr"),
            ("may", "мая", "май", "mai", "mei", "mag"),
            ("jun", "июн", "giu"),
            ("jul", "июл", "lug"),
            ("aug", "авг", "ago", "aoû"),
            ("sep", "сен", "set"),
            ("oct", "окт", "okt", "ott", "out"),
            ("nov", "ноя"),
            ("dec", "дек", "dic", "dez", "déc"),
        ),
        start=1,
    )
    for name in names
}
# Month words a date without its year may use: a prefix would take "12 decisions" for 12 Dec.
_FULL_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            (
                "january",
                "jan",
                "января",
                "январь",
                "yanvar",
                "janvier",
                "januar",
                "enero",
                "janeiro",
                "gennaio",
                "januari",
                "ocak",
                "stycznia",
            ),
            (
                "february",
                "feb",
                "февраля",
                "февраль",
                "fevral",
                "février",
                "februar",
                "febrero",
                "fevereiro",
                "febbraio",
                "februari",
                "şubat",
                "lutego",
            ),
            (
                "march",
                "mar",
                "марта",
                "март",
                "mart",
                "mars",
                "märz",
                "marzo",
                "março",
                "maart",
                "maret",
                "marca",
            ),
            (
                "april",
                "apr",
                "апреля",
                "апрель",
                "aprel",
                "avril",
                "abril",
                "aprile",
                "nisan",
                "kwietnia",
            ),
            ("may", "мая", "май", "mai", "mayo", "maio", "maggio", "mei", "mayıs", "maja"),
            (
                "june",
                "jun",
                "июня",
                "июнь",
                "iyun",
                "juin",
                "juni",
                "junio",
                "junho",
                "giugno",
                "haziran",
                "czerwca",
            ),
            (
                "july",
                "jul",
                "июля",
                "июль",
                "iyul",
                "juillet",
                "juli",
                "julio",
                "julho",
                "luglio",
                "temmuz",
                "lipca",
            ),
            (
                "august",
                "aug",
                "августа",
                "август",
                "avqust",
                "août",
                "agosto",
                "agustus",
                "ağustos",
                "sierpnia",
            ),
            (
                "september",
                "sep",
                "sept",
                "сентября",
                "сентябрь",
                "sentyabr",
                "septembre",
                "septiembre",
                "setembro",
                "settembre",
                "eylül",
                "września",
            ),
            (
                "october",
                "oct",
                "октября",
                "октябрь",
                "oktyabr",
                "octobre",
                "oktober",
                "octubre",
                "outubro",
                "ottobre",
                "ekim",
                "października",
            ),
            (
                "november",
                "nov",
                "ноября",
                "ноябрь",
                "noyabr",
                "novembre",
                "noviembre",
                "novembro",
                "kasım",
                "listopada",
            ),
            (
                "december",
                "dec",
                "декабря",
                "декабрь",
                "dekabr",
                "décembre",
                "dezember",
                "diciembre",
                "dezembro",
                "dicembre",
                "desember",
                "aralık",
                "grudnia",
            ),
        ),
        start=1,
    )
    for name in names
}
_DAY_MONTH_YEAR = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\.?\s+(?:de\s+|of\s+)?([^\W\d_]{3,})\.?,?\s+(?:de\s+)?(\d{4})\b"
)  # 4 May 2025, 25. September 2018, 4 de octubre de 2025, 20th of November 2019
_MONTH_DAY_YEAR = re.compile(
    r"\b([^\W\d_]{3,})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(?:\d{1,2}:\d{2}\s+)?(\d{4})\b"
)  # March 18, 2019; November 18th, 2019; Wed Nov 20 2019; November 20 15:23 2019
# A year glued to the clock after it, where two elements' texts met: "Nov 15, 20195:45 AM".
_GLUED_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=\d{1,2}:\d{2}(?!\d))")
_YEAR_FIRST = re.compile(
    r"(?<!\d)(\d{4})(?:[-/.]|年|년\s*)(\d{1,2})(?:[-/.]|月|월\s*)(\d{1,2})(?!\d)"
)
_NUMERIC = re.compile(r"(?<![\d.:/])(\d{1,2})([./])(\d{1,2})\2(\d{4}|\d{2})(?![\d:])")  # 4.10.25
# A date without its year: "4 октября", "October 4", "10月4日" (the year comes from `now`).
_DAY_MONTH = re.compile(r"\b(\d{1,2})\s+([^\W\d_]{3,})\b")
_MONTH_DAY = re.compile(r"\b([^\W\d_]{3,})\.?\s+(\d{1,2})\b(?!:)")
_CJK_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})日")
# A clock with its AM/PM (before, as Chinese and Korean put it, or after) and its zone: an
# offset ("+04:00", "GMT+3") or a zone name ("EST", "ET").
_CLOCK = re.compile(
    r"(?:(上午|早上|凌晨|中午|下午|晚上|오전|오후)\s*)?(?<![\d:.])(\d{1,2})[:.h](\d{2})(?!\d|\.\d)"
    r"(?::\d{2}(?:\.\d+)?)?"
    r"(?:\s*([ap])\.?\s?m\b\.?)?"
    r"(?:\s*(?:(?:GMT|UTC)?\s*([+-])(\d{1,2}):?(\d{2})?(?!\d)|\(?\b([A-Z]{1,4})\b))?",
    re.I,
)
_AFTERNOON = {"下午", "晚上", "오후", "p"}
_MORNING = {"上午", "早上", "凌晨", "오전", "a"}
# Zone names pages print after a clock, as IANA zones: a US "ET" is -5 in winter, -4 in summer.
_ZONE_NAMES = {
    **dict.fromkeys(("ET", "EST", "EDT"), "America/New_York"),
    **dict.fromkeys(("CT", "CST", "CDT"), "America/Chicago"),
    **dict.fromkeys(("MT", "MST", "MDT"), "America/Denver"),
    **dict.fromkeys(("PT", "PST", "PDT"), "America/Los_Angeles"),
    **dict.fromkeys(("GMT", "UTC", "UT", "Z"), "UTC"),
    **{"BST": "Europe/London", "CET": "Europe/Paris", "CEST": "Europe/Paris"},
    **{"MSK": "Europe/Moscow", "IST": "Asia/Kolkata", "AZT": "Asia/Baku", "JST": "Asia/Tokyo"},
    **{"KST": "Asia/Seoul", "HKT": "Asia/Hong_Kong", "AEST": "Australia/Sydney"},
    **{"HST": "Pacific/Honolulu", "AKST": "America/Anchorage", "AKDT": "America/Anchorage"},
    **{"UK": "Europe/London", "WIB": "Asia/Jakarta", "SGT": "Asia/Singapore"},
    **{"AEDT": "Australia/Sydney", "EET": "Europe/Athens", "EEST": "Europe/Athens"},
}
_URL_MONTH_NAME = re.compile(r"/(20\d{2})/([a-z]{3,9})/(\d{1,2})(?=/|$)", re.I)
_URL_DATE = re.compile(r"/(20\d{2})[/-](\d{1,2})[/-](\d{1,2})(?=/|$)")
# Azerbaijani "ago" as dateparser 1.5 does not know it ("2 saat əvvəl"); it knows "öncə".
_REWRITES = ((re.compile(r"\bəvvəl\b", re.I), "öncə"),)


def parse_timestamp(value: str | None, reading: DateReading | None = None) -> datetime | None:
    """A feed, sitemap or API time: epoch seconds, ISO 8601, RFC 822; None when unreadable.

    RFC 822 with a numeric zone or a common zone name (MSK, EEST, AZT) and English or Russian
    names ("Пн, 06 окт 2025") is read by hand, rarer zone names and other languages by
    dateparser. A date-only or zone-less value is in the source's zone (reading.timezone),
    never silently UTC.
    """
    reading = reading or DateReading()
    value = (value or "").strip()
    return _timestamp_by_hand(value, reading) or _dateparser(value, reading, None)


def read_by_hand(value: str, reading: DateReading, now: datetime | None = None) -> datetime | None:
    """A machine or printed date read by hand only (never dateparser: a page's dozens of dated
    clues must cost microseconds each), else None."""
    value = value.strip()
    return _timestamp_by_hand(value, reading) or absolute_date(value, reading, now)


def parse_listing_date(
    text: str, reading: DateReading | None = None, now: datetime | None = None
) -> datetime | None:
    """A date as a listing prints it, absolute or relative to `now` (the fetch time), or None.

    Absolute forms read by hand first ("13:39, 4 May 2025", "March 18, 2019 12:57",
    "09:10, 29 апреля 2024", "04.10.2025 13:39", "2025年10月4日 下午3:39", a /2025/10/04/ path,
    "4 октября" and "10月4日 13:39" in the year `now` gives); anything else is parsed by
    dateparser in the source's languages and date order.
    """
    reading = reading or DateReading()
    return absolute_date(text, reading, now) or _dateparser(text, reading, now)


def precision(text: str) -> Precision:
    """Whether a printed or machine date gives its time of day (a clock), or only the day."""
    text = _GLUED_YEAR.sub(r"\1 ", text)
    if _DAY_ONLY.match(text.strip()) or (_URL_DATE.search(text) and not _CLOCK.search(text)):
        return Precision.DAY
    return (
        Precision.MINUTE if _CLOCK.search(text) or _RELATIVE_CLOCK.search(text) else Precision.DAY
    )


# Relative forms that give a time ("5 минут назад", "3小时前", "2 hours ago"), not only a day.
_RELATIVE_CLOCK = re.compile(
    r"(?i)\d+\s*(?:мин|час|min|hour|hr|saat|dəqiqə|分钟|小时|分鐘|小時|시간|분)"
)


@dataclass
class PageDates:
    """The dates of one listing (feed, sitemap, page, JSON list), read as parse_timestamp and
    parse_listing_date do, but through dateparser for at most SLOW_VALUES_PER_PAGE values: a
    listing of 100,000 odd items then costs about a second, not an hour."""

    reading: DateReading
    now: datetime | None = None  # when the page was fetched: relative dates count from it
    slow_left: int = SLOW_VALUES_PER_PAGE

    def timestamp(self, value: str | None) -> datetime | None:
        """A machine-readable time: a feed's pubDate, a sitemap's lastmod, a <time datetime>."""
        value = (value or "").strip()
        return _timestamp_by_hand(value, self.reading) or self._slow(value, None)

    def printed(self, text: str) -> datetime | None:
        """A date printed for people: absolute, or relative to the fetch time."""
        return absolute_date(text, self.reading, self.now) or self._slow(text, self.now)

    def _slow(self, text: str, now: datetime | None) -> datetime | None:
        if self.slow_left <= 0 or not _worth_parsing(text):
            return None
        self.slow_left -= 1
        return _dateparser(text, self.reading, now)


def _timestamp_by_hand(value: str, reading: DateReading) -> datetime | None:
    """Epoch seconds, ISO 8601, or RFC 822 with names and zones known here; else None."""
    if not value:
        return None
    if value.isdigit() and len(value) >= 9:  # 8 digits are a basic ISO date (20251004)
        try:  # a 4000-digit "time" overflows the float division itself
            seconds = int(value) / (1000 if len(value) >= 13 else 1)  # milliseconds in some APIs
            return datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError):
            return None
    if value[:4].isdigit():
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else local(moment, reading, bool(_DAY_ONLY.match(value)))
    if (match := _RFC822.match(value)) and (moment := _rfc822(match)):
        return moment
    return None


def absolute_date(text: str, reading: DateReading, now: datetime | None = None) -> datetime | None:
    """The fast path: a date found in text by the forms above, else None; a date printed
    without its year only with a `now` to take the year from."""
    text = _GLUED_YEAR.sub(r"\1 ", text)
    if match := _URL_DATE.search(text) or _YEAR_FIRST.search(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _NUMERIC.search(text):
        first, separator, second, year = int(match[1]), match[2], int(match[3]), int(match[4])
        year += 2000 if year < 100 else 0
        order = reading.order if separator == "/" or reading.date_order else DateOrder.DMY
        if order == DateOrder.YMD:
            return None  # 25/10/04 is left to dateparser
        day, month = (first, second) if order == DateOrder.DMY else (second, first)
        if month > 12 >= day:  # 13/06/2014 on a month-first site can only be day-first
            day, month = month, day
    elif match := _named_month(_DAY_MONTH_YEAR, text, 2):
        day, month, year = int(match[1]), _month(match[2]), int(match[3])
    elif match := _named_month(_MONTH_DAY_YEAR, text, 1):
        day, month, year = int(match[2]), _month(match[1]), int(match[3])
    elif now is not None and (found := _without_year(text)):
        (month, day), year = found, now.astimezone(reading.zone).year
    else:
        return None
    clock = _CLOCK.search(text)
    zone = _clock_zone(clock, reading) if clock else reading.zone
    hour, minute = _clock(clock) if clock else (NOON, 0)
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:  # an unknown month name: dateparser may know it
        return None
    if not match and now is not None and moment > now + timedelta(days=2):
        moment = moment.replace(year=year - 1)  # "4 October" read on 1 January: last year's
    return moment


def _named_month(pattern: re.Pattern[str], text: str, group: int) -> re.Match[str] | None:
    """The first match whose month group names a month ("Score 3 2019" is none)."""
    return next((m for m in pattern.finditer(text) if _month(m[group])), None)


def _without_year(text: str) -> tuple[int, int] | None:
    """(month, day) of a date printed without its year, else None."""
    if match := _CJK_MONTH_DAY.search(text):
        return int(match[1]), int(match[2])
    if (match := _DAY_MONTH.search(text)) and (month := _FULL_MONTHS.get(match[2].lower())):
        return month, int(match[1])
    if (match := _MONTH_DAY.search(text)) and (month := _FULL_MONTHS.get(match[1].lower())):
        return month, int(match[2])
    return None


def _clock(clock: re.Match[str]) -> tuple[int, int]:
    """Hour and minute of a clock, its AM/PM applied (12 AM is 0, 3 PM and 下午3 are 15)."""
    hour, minute = int(clock[2]), int(clock[3])
    half = (clock[1] or clock[4] or "").lower()
    if half in _AFTERNOON and hour < 12:
        hour += 12
    elif half in _MORNING and hour == 12:
        hour = 0
    return hour, minute


def _clock_zone(clock: re.Match[str], reading: DateReading) -> tzinfo:
    """The zone a clock names (an offset, a known zone name), else the source's."""
    if clock[5]:
        minutes = int(clock[6]) * 60 + int(clock[7] or 0)
        return timezone(timedelta(minutes=-minutes if clock[5] == "-" else minutes))
    if clock[8] and (name := _ZONE_NAMES.get(clock[8].upper())):
        return ZoneInfo(name)
    return reading.zone


def local(moment: datetime, reading: DateReading, day_only: bool = False) -> datetime:
    """A time printed without a zone, in the source's zone; a day without a time at noon."""
    if day_only:
        moment = moment.replace(hour=NOON)
    return moment.replace(tzinfo=reading.zone)


def url_day(url: str, reading: DateReading) -> datetime | None:
    """The day a /2025/10/04/ or /2019/nov/18/ path names, at noon in the source's zone (a
    day's placeholder, see the module's docstring); else None."""
    if match := _URL_DATE.search(url):
        year, month, day = (int(g) for g in match.groups())
    elif (match := _URL_MONTH_NAME.search(url)) and (month := _FULL_MONTHS.get(match[2].lower())):
        year, day = int(match[1]), int(match[3])
    else:
        return None
    try:
        return datetime(year, month, day, NOON, tzinfo=reading.zone)
    except ValueError:
        return None


def names_zone(text: str) -> bool:
    """Whether a printed time names its zone ("13:39 +04:00", "9:24 pm ET"), not a local clock."""
    clock = _CLOCK.search(text)
    return bool(clock and (clock[5] or (clock[8] and clock[8].upper() in _ZONE_NAMES)))


def _rfc822(match: re.Match[str]) -> datetime | None:
    """An RFC 822 date whose month and zone are known here; None leaves it to dateparser."""
    zone = match[7].upper()
    if zone[0] in "+-":
        minutes = int(zone[1:3]) * 60 + int(zone[3:5])
        offset = timedelta(minutes=-minutes if zone[0] == "-" else minutes)
    elif zone in _ZONES:
        offset = timedelta(hours=_ZONES[zone])
    else:
        return None
    year = int(match[3])
    year += 2000 if year < 50 else 1900 if year < 100 else 0
    try:
        return datetime(
            year,
            _month(match[2]),
            int(match[1]),
            int(match[4]),
            int(match[5]),
            int(match[6] or 0),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None


def _month(name: str) -> int:
    """A month's number from its name, 0 when it is not one known here (French juin and
    juillet share their first three letters: full names first)."""
    name = name.lower()
    return _FULL_MONTHS.get(name) or _MONTHS.get(name) or _MONTHS.get(name[:3], 0)


def _worth_parsing(text: str) -> bool:
    """Short enough to be a date, and with a letter or digit at all."""
    return len(text) <= MAX_DATE_CHARS and any(ch.isalnum() for ch in text)


def _dateparser(text: str, reading: DateReading, now: datetime | None) -> datetime | None:
    """dateparser's reading of text in the source's zone, languages and order; None if none.

    Relative forms are read only with a `now` to count from (a listing's fetch time).
    """
    if not _worth_parsing(text):
        return None
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    settings: dict[str, Any] = {
        "TIMEZONE": reading.timezone,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",  # a listing's "4 October" is last October, not next
    }
    if now is None:
        settings["PARSERS"] = ["custom-formats", "absolute-time"]
    else:
        settings["RELATIVE_BASE"] = now.astimezone(reading.zone).replace(tzinfo=None)
    if reading.date_order:
        settings["DATE_ORDER"] = str(reading.date_order)
    languages = list(reading.languages) or None
    try:
        return _parser().parse(text, languages=languages, settings=settings)
    except (ValueError, OverflowError, TypeError):  # dateparser's own errors on odd input
        return None


@cache
def _parser() -> Any:
    """dateparser, imported once on first need (0.1 s) and kept out of the hand-read paths."""
    import dateparser

    return dateparser
