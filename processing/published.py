"""When a page was published, as ranked evidence: every dated clue with where it came from.

A page states its date several times, and not all of them are true: JSON-LD and meta tags
(sometimes the modification time, sometimes with a wrong offset), `<time>` elements in the
article and in its sidebars, the byline printed under the title, the URL's /2025/10/04/.
Each clue is read, scored by its kind and place, and reinforced by the clues that agree with
it (the same instant, or the same day); the winner keeps its provenance and the losers are
kept beside it. The day of the winning instant is the one the page itself prints: its zone is
taken from a printed zone name or a local clock that matches the instant, else from the URL's
or the byline's day, else the instant's own offset.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from itertools import islice

import lxml.html
from lxml import etree

from connectors.dates import (
    Clue,
    DateReading,
    Kind,
    Precision,
    absolute_date,
    names_zone,
    precision,
    read_by_hand,
    url_day,
)
from connectors.plausible import DateWindow, plausible_date

Named = list[tuple[lxml.html.HtmlElement, str]]
# Words in the class or id of an element that may print the date or the byline.
DATED_WORDS = ("date", "time", "byline", "posted", "publish", "meta")
_ITEMPROP_DATES = etree.XPath("//*[@itemprop='datePublished'][not(self::meta)]")  # compiled once


def named_elements(tree: lxml.html.HtmlElement, words: tuple[str, ...] = DATED_WORDS) -> Named:
    """The body's elements whose class or id contains one of `words` (any case), with both
    names, in the page's order: one pass for the date and the paywall searches. Each class and
    id is read from the element and tested once (an XPath for the values made a string object
    for each: a fifth more time); building every named element's names in Python (a page has
    hundreds) cost more than both searches, and XPath's own contains() and translate() much
    more (bench/README.md)."""
    search = _words_pattern(words).search
    found: dict[lxml.html.HtmlElement, None] = {}  # a body inside a body: its elements once
    for body in tree.iter("body"):
        for e in body.iterdescendants(etree.Element):  # //body//*, in document order
            name, key = e.get("class"), e.get("id")
            # lower() first: 16x faster than the pattern ignoring case
            if (name and search(name.lower())) or (key and search(key.lower())):
                found[e] = None
    return [(e, f"{e.get('class') or ''} {e.get('id') or ''}") for e in found]


@lru_cache(maxsize=8)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(word.lower()) for word in words))


def capped_text(element: lxml.html.HtmlElement, chars: int) -> str:
    """An element's text, whitespace collapsed, reading no more than about `chars` of it: a
    container's whole text_content() is costly and not needed to tell a byline or a prompt."""
    parts: list[str] = []
    for piece in element.itertext():
        parts.append(piece)
        if sum(map(len, parts)) > chars:
            break
    return " ".join("".join(parts).split())


# Meta names (property, name or itemprop) that hold the publication time, and their weight.
PUBLISHED_META = {
    **dict.fromkeys(
        (
            "article:published_time",
            "og:article:published_time",
            "datepublished",
            "article:published",
            "article.published",
            "parsely-pub-date",
            "pubdate",
            "publish-date",
            "publishdate",
            "published_time",
            "dc.date.issued",
            "dcterms.created",
            "dc.date",
            "dcterms.date",
            "sailthru.date",
            "article_date_original",
            "published_at",
            "date_published",
            "og:published_time",
            "datecreated",
            "created",
        ),
        10.0,
    ),  # fmt: skip
    "date": 6.0,
}
_SIDEBAR = re.compile(
    r"related|sidebar|widget|recent|popular|trending|recommend|comment|footer|rail|teaser"
    r"|more-stories|read-more|newsletter|promo|breadcrumb",
    re.IGNORECASE,
)
_DATED_CLASS = re.compile(r"date|time|byline|posted|publish|meta", re.IGNORECASE)
_UPDATED_WORDS = r"updated|modified|обновлен|изменен|更新|yeniləndi|aktualisiert"
_UPDATED = re.compile(_UPDATED_WORDS, re.I)
_PUBLISHED_WORDS = re.compile(
    r"published|posted|original|created|опубликовано|发布|發佈|dərc|veröffentlicht|publicado"
    r"|publié",
    re.I,
)
# Separators between a byline's parts, and the space before an update's word: "May 4, 2025 at
# 2:26 PM HST - Updated May 4 at 4:46 PM" is the publication, then the update.
_SEGMENT = re.compile(rf"\s*(?:\||•|·|/(?!\d)|\n)\s*|\s+(?=(?i:{_UPDATED_WORDS}))")
_DIGIT = re.compile(r"\d")
MAX_DATED_ELEMENTS = 20  # elements named for a date looked at: the byline is near the top
MAX_CLUES = 40  # dated clues read from one page: a listing-like page has hundreds of <time>
_ANCESTORS = 10  # how far up a clue's sidebar or article container is looked for


@dataclass(frozen=True)
class Candidate:
    """A clue read as a time: zoned says whether the page gave its zone (else the source's)."""

    clue: Clue
    moment: datetime
    precision: Precision
    zoned: bool


@dataclass(frozen=True)
class Publication:
    """The winning time, its precision and provenance, and every candidate that was read."""

    moment: datetime | None
    precision: Precision | None
    winner: Candidate | None
    candidates: tuple[Candidate, ...] = ()
    zone_from: str | None = None  # what set the zone its day is taken in


def page_clues(
    tree: lxml.html.HtmlElement,
    metas: list[tuple[tuple[str | None, ...], str]],
    url: str,
    named: Named | None = None,
) -> list[Clue]:
    """Every dated clue of a raw (uncleaned) page, in the page's order within each kind
    (named: the page's named_elements, when the caller has read them)."""
    clues = []
    for keys, content in metas:
        for key in filter(None, keys):
            if (weight := PUBLISHED_META.get(key.lower())) is not None:
                clues.append(Clue(Kind.META, f"meta {key}", content, weight))
                break
    values = _JSON_LD_DATE.findall(_json_ld_text(tree))
    for value in values:  # a later, different value dates another object (a related item)
        weight = 10.0 if value[:10] == values[0][:10] else 5.0
        clues.append(Clue(Kind.JSON_LD, "JSON-LD datePublished", value, weight))
    first = None
    for element in _ITEMPROP_DATES(tree)[:3]:
        if value := (element.get("datetime") or element.get("content") or "").strip():
            place = _place(element)
            weight = 9.0 if place != "sidebar" else _TIME_WEIGHT[place]
            first = first or value
            weight /= 1 if value == first else 2  # a list's items (comments, "latest")
            clues.append(Clue(Kind.ITEMPROP, f"<{element.tag} itemprop> in {place}", value, weight))
    clues += _time_clues(tree)
    clues += _byline_clues(tree, named_elements(tree) if named is None else named, _title(metas))
    if url:
        clues.append(Clue(Kind.URL, "URL path", url, 5.0, machine=False))
    return clues[:MAX_CLUES]


def _json_ld_text(tree: lxml.html.HtmlElement) -> str:
    return "\n".join(
        s.text or "" for s in tree.iter("script") if "ld+json" in (s.get("type") or "")
    )


_JSON_LD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')


def _place(element: lxml.html.HtmlElement) -> str:
    """'sidebar' for an element in an aside, nav, footer or related list; 'article' for one in
    the article or main container; else 'page'."""
    place = "page"
    for ancestor in list(element.iterancestors())[:_ANCESTORS]:
        if ancestor.tag in ("aside", "nav", "footer"):
            return "sidebar"
        names = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}"
        if _SIDEBAR.search(names):
            return "sidebar"
        if ancestor.tag in ("article", "main") or "article" in names.lower():
            place = "article"
    return place


_TIME_WEIGHT = {"article": 8.0, "page": 6.0, "sidebar": 1.0}


def _time_clues(tree: lxml.html.HtmlElement) -> list[Clue]:
    """<time> elements, by their place; an update's time counts little; their printed text too."""
    clues = []
    for element in list(tree.iter("time"))[:8]:
        place = _place(element)
        context = (
            " ".join(
                f"{e.get('class') or ''} {e.get('itemprop') or ''}"
                for e in (element, element.getparent())
                if e is not None
            )
            + " "
            + (element.getparent().text_content()[:60] if element.getparent() is not None else "")
        )
        weight = _TIME_WEIGHT[place] * (0.25 if _UPDATED.search(context) else 1.0)
        if value := (element.get("datetime") or "").strip():
            clues.append(Clue(Kind.TIME, f"<time> in {place}", value, weight))
        if text := " ".join(element.text_content().split()):
            clues.append(Clue(Kind.PRINTED, f"<time> text in {place}", text, weight * 0.8, False))
    return clues


def _title(metas: list[tuple[tuple[str | None, ...], str]]) -> str:
    """The page's og:title (or twitter:title), the headline its <h1> is checked against."""
    for keys, content in metas:
        if "og:title" in keys or "twitter:title" in keys:
            return content
    return ""


def _headline(tree: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    """The <h1> holding the headline: the first whose text the page's title contains (a site
    whose logo is an <h1> puts its masthead, and today's date, right after it), else the first."""
    first = None
    folded = " ".join(title.split()).casefold()
    for heading in islice(tree.iter("h1"), _HEADINGS):
        first = heading if first is None else first
        text = " ".join(heading.text_content().split()).casefold()
        if folded and len(text) >= _HEADLINE_CHARS and (text in folded or folded in text):
            return heading
    return first


_HEADINGS = 5  # <h1> elements looked at for the headline
_HEADLINE_CHARS = 12  # shorter <h1> text is a name, not a headline to match the title with


def _byline_clues(tree: lxml.html.HtmlElement, named: Named, title: str = "") -> list[Clue]:
    """Dates printed by the title: the text just after the headline's <h1>, and short elements
    whose class names a date or byline, each split at separators ("By X | May 4, 2025 |
    Updated")."""
    texts: list[tuple[str, str, float]] = []
    if (heading := _headline(tree, title)) is not None:
        texts.append(("byline after the title", _text_after(heading, 300), 7.0))
    dated = (
        element
        for element, names in named
        if element.tag not in ("time", "script", "style") and _DATED_CLASS.search(names)
    )
    for element in islice(dated, MAX_DATED_ELEMENTS):
        text = capped_text(element, 121)
        if 6 <= len(text) <= 120 and (place := _place(element)) != "sidebar":
            texts.append((f"dated element in {place}", text, 6.0))
        if len(texts) > 6:
            break
    clues = []
    for where, text, weight in texts:
        updated = False
        for segment in _SEGMENT.split(text):
            if _UPDATED.search(segment):
                updated = True
            elif _PUBLISHED_WORDS.search(segment):
                updated = False
            if _DIGIT.search(segment):
                clues.append(
                    Clue(
                        Kind.PRINTED, where, segment[:120], weight * (0.25 if updated else 1), False
                    )
                )
    return clues


def _text_after(element: lxml.html.HtmlElement, chars: int) -> str:
    """The page's text following an element, up to about `chars` characters, lines kept apart;
    scripts and figures (a photo's caption dates the photo) left out."""
    parts: list[str] = []
    budget = [chars]
    node: lxml.html.HtmlElement | None = element
    while node is not None and node.tag != "body" and budget[0] > 0:
        for sibling in node.itersiblings():
            _walk(sibling, parts, budget)
            if budget[0] <= 0:
                break
        node = node.getparent()
    return "\n".join(parts)[:chars]


_SKIPPED = {"script", "style", "noscript", "figure", "figcaption", "template"}


def _walk(node: lxml.html.HtmlElement, parts: list[str], budget: list[int]) -> None:
    """Text of a subtree into parts until the budget of characters is spent."""
    if budget[0] <= 0:
        return
    if node.tag not in _SKIPPED and "caption" not in (node.get("class") or ""):
        _keep(node.text, parts, budget)
        for child in node:
            _walk(child, parts, budget)
            if budget[0] <= 0:
                return
    _keep(node.tail, parts, budget)


def _keep(text: str | None, parts: list[str], budget: list[int]) -> None:
    if text and (text := " ".join(text.split())):
        parts.append(text)
        budget[0] -= len(text)


DEFAULT_WINDOW = DateWindow()


def read(
    clues: list[Clue],
    reading: DateReading,
    now: datetime | None = None,
    window: DateWindow = DEFAULT_WINDOW,
) -> list[Candidate]:
    """Each clue read as a time in the source's zone where it names none; unreadable ones and
    those outside the plausible window (connectors.plausible) left out: one odd value costs
    its clue, never the page."""
    utc = DateReading("UTC", reading.date_order, reading.languages)
    candidates = []
    for clue in clues:
        try:
            candidate = _candidate(clue, reading, utc, now)
        except (ValueError, OverflowError):
            continue
        if candidate is not None and plausible_date(candidate.moment, window, now):
            candidates.append(candidate)
    return candidates


def _candidate(
    clue: Clue, reading: DateReading, utc: DateReading, now: datetime | None
) -> Candidate | None:
    weight = clue.weight
    if clue.kind == Kind.URL:
        moment = url_day(clue.text, reading)
        day_only, zoned = True, True
    elif clue.machine:
        moment = read_by_hand(clue.text, utc)
        day_only = precision(clue.text) == Precision.DAY
        zoned = _MACHINE_ZONE.search(clue.text.strip()) is not None or clue.text.isdigit()
    else:
        if len(clue.text) > _BYLINE_CHARS:
            weight /= 2  # prose, not a byline: "the ship left on Aug. 31, 2019"
        moment = absolute_date(clue.text, utc)
        if moment is None and (moment := absolute_date(clue.text, utc, now)) is not None:
            weight /= 4  # its year guessed from the fetch time
        day_only = precision(clue.text) == Precision.DAY
        zoned = names_zone(clue.text)
        if zoned and not day_only:
            weight *= _ZONED_PRINT  # "2:26 PM HST": the page says which instant it means
    if moment is None:
        return None
    if not zoned:  # read in UTC to compare clocks; the source's zone applies
        moment = moment.replace(tzinfo=reading.zone)
    kept = Precision.DAY if day_only else Precision.MINUTE
    return Candidate(replace(clue, weight=weight), moment, kept, zoned)


_MACHINE_ZONE = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z|UTC|GMT)$")
_BYLINE_CHARS = 60  # a printed date in a longer segment stands in prose
_ZONED_PRINT = 1.25  # a printed clock naming its zone, against machine values that disagree


def evidence(publication: Publication) -> str:
    """The winner and the candidates that lost, as JSON: kind, where, text, time, weight."""
    rows = [
        {
            "kind": str(c.clue.kind),
            "where": c.clue.where,
            "text": c.clue.text[:120],
            "time": c.moment.isoformat(),
            "weight": c.clue.weight,
            "won": c is publication.winner,
        }
        for c in publication.candidates
    ]
    return json.dumps({"zone_from": publication.zone_from, "candidates": rows}, ensure_ascii=False)


def decide(candidates: list[Candidate]) -> Publication:
    """The best-supported candidate, its day taken in the zone the page itself uses.

    The best-supported clue picks the moment; among the clues agreeing with it, the most
    precise one stands for it (a time before a day, a zoned instant before a local clock, a
    machine value with its seconds before a printed one).
    """
    if not candidates:
        return Publication(None, None, None)
    score = {id(c): c.clue.weight + _support(c, candidates) for c in candidates}
    best = max(candidates, key=lambda c: score[id(c)])
    agreeing = [c for c in candidates if c is best or _agree(best, c)]
    # A day (the URL's) agrees with instants that disagree with each other: the best-supported
    # instant first, then the most precise clue of those at its minute.
    if timed := [c for c in agreeing if c.precision == Precision.MINUTE]:
        top = max(timed, key=lambda c: score[id(c)])
        agreeing = [c for c in timed if c is top or _agree(top, c)]
    winner = max(
        agreeing,
        key=lambda c: (c.precision == Precision.MINUTE, c.zoned, c.clue.machine, score[id(c)]),
    )
    if winner.precision == Precision.DAY:
        return Publication(winner.moment, Precision.DAY, winner, tuple(candidates))
    moment, zone_from = _in_page_zone(winner, candidates)
    return Publication(moment, Precision.MINUTE, winner, tuple(candidates), zone_from)


def _support(candidate: Candidate, others: list[Candidate]) -> float:
    """Half the weight of each other clue that agrees: the same instant (a minute's leeway),
    or, for a day, the same day. Each kind counts once (a page repeats its meta tags)."""
    support: dict[Kind, float] = {}
    for other in others:
        if (
            other is candidate
            or other.clue.kind == candidate.clue.kind
            and other.clue.where == candidate.clue.where
        ):
            continue
        if _agree(candidate, other):
            support[other.clue.kind] = max(support.get(other.clue.kind, 0.0), other.clue.weight / 2)
    return sum(support.values())


def _agree(one: Candidate, other: Candidate) -> bool:
    if one.precision == other.precision == Precision.MINUTE:
        if one.zoned and other.zoned:
            return abs((one.moment - other.moment).total_seconds()) < 60
        return (
            _clock_offset(one, other) is not None
            or abs((one.moment - other.moment).total_seconds()) < 60
        )
    return _local_day(one) == _local_day(other) or bool(_shifted_day(one, other))


def _local_day(candidate: Candidate) -> date:
    return candidate.moment.date()


def _shifted_day(one: Candidate, other: Candidate) -> bool:
    """A zoned instant and a day one apart that some zone reconciles (an evening in UTC)."""
    instant, day = (one, other) if one.precision == Precision.MINUTE else (other, one)
    if instant.precision != Precision.MINUTE or day.precision != Precision.DAY or not instant.zoned:
        return False
    return _offset_for_day(instant.moment, day.moment.date()) is not None


def _clock_offset(one: Candidate, other: Candidate) -> timedelta | None:
    """The offset that makes a local clock and a zoned instant the same moment, if any: a page
    printing 20:59 beside 02:59Z is six hours west of UTC."""
    if one.zoned == other.zoned:
        return None
    zoned, local = (one, other) if one.zoned else (other, one)
    difference = local.moment.replace(tzinfo=None) - zoned.moment.astimezone(UTC).replace(
        tzinfo=None
    )
    seconds = difference.total_seconds()
    if abs(seconds) > 14 * 3600 or round(seconds) % 900 > 59 and round(seconds) % 900 < 841:
        return None
    return timedelta(minutes=round(seconds / 900) * 15)


def _offset_for_day(moment: datetime, day: date) -> tzinfo | None:
    """The offset nearest UTC that puts an instant on a given day, if one within -12..+14 h."""
    utc = moment.astimezone(UTC)
    for hours in sorted(range(-12, 15), key=abs):
        if (utc + timedelta(hours=hours)).date() == day:
            return timezone(timedelta(hours=hours))
    return None


def _in_page_zone(winner: Candidate, candidates: list[Candidate]) -> tuple[datetime, str | None]:
    """The winning instant in the zone the page prints its times in, and what said so.

    First a printed clock naming its zone at the same instant, or a local clock matching it;
    then any zone name the page prints; then the day of the URL or of a printed byline date
    (an evening in UTC that is the page's day before); else the instant as given.
    """
    printed_zones = [
        c
        for c in candidates
        if c.zoned and c.clue.kind == Kind.PRINTED and c.precision == Precision.MINUTE
    ]
    for other in printed_zones:
        if abs((other.moment - winner.moment).total_seconds()) < 60:
            return winner.moment.astimezone(other.moment.tzinfo), other.clue.where
    if winner.zoned:  # a printed local clock first: a machine value without a zone is often UTC
        for other in sorted(
            candidates, key=lambda c: (c.clue.kind != Kind.PRINTED, -c.clue.weight)
        ):
            if (
                other.precision == Precision.MINUTE
                and (offset := _clock_offset(winner, other)) is not None
            ):
                return winner.moment.astimezone(timezone(offset)), other.clue.where
    elif not printed_zones:
        return winner.moment, None  # a local clock: in the source's zone
    if printed_zones:
        return winner.moment.astimezone(printed_zones[0].moment.tzinfo), printed_zones[0].clue.where
    for other in sorted(candidates, key=lambda c: -c.clue.weight):
        if other.precision == Precision.DAY and other.clue.kind in (Kind.URL, Kind.PRINTED):
            if winner.moment.date() != other.moment.date() and (
                zone := _offset_for_day(winner.moment, other.moment.date())
            ):
                return winner.moment.astimezone(zone), other.clue.where
            break
    return winner.moment, None
