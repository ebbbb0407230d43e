"""Plain records that connectors hand to the rest of the pipeline, and the typed states
(outcomes, kinds, translation statuses) every stage shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from connectors.dates import Clue

# Statuses a server uses to say "not now" rather than "never": worth another try.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class Outcome(StrEnum):
    """What became of one article URL's fetch and processing (fetch_log.outcome). With
    ListingOutcome, the one place that says which failures pass with time and which are
    failures at all (FAILURES).

    BLOCKED is transient: a bot wall (connectors.walls) often lifts within days, so the URL is
    tried again in later runs on the transient back-off; never within the run that met the wall
    (no retries, and the other URLs of its server and site are not requested once it showed one).
    """

    OK = "ok"  # fetched and decoded; later stages turn it into one of the last six
    NOT_MODIFIED = "not_modified"  # a conditional GET answered 304
    SKIPPED = "skipped"  # robots.txt, the date window, already stored
    HTTP_ERROR = "http_error"  # transient only for RETRY_STATUSES (see FetchAttempt)
    TIMEOUT = "timeout"  # no answer in time, or the total deadline passed
    NETWORK_ERROR = "network_error"
    TRUNCATED = "truncated"  # body shorter than announced, or a compressed stream cut off
    EMPTY = "empty"
    NOT_HTML = "not_html"
    TOO_LARGE = "too_large"  # over max_bytes, also after decompression
    TOO_COSTLY = "too_costly"  # over the page-processing budget (limits: elements, CPU, memory)
    UNDECODABLE = "undecodable"  # a charset or Content-Encoding that cannot be decoded
    REDIRECT_LOOP = "redirect_loop"
    REFUSED = "refused"  # the address policy forbids the URL or a redirect hop
    BLOCKED = "blocked"  # a bot wall's challenge page answered; error: "blocked by <vendor>: ..."
    CRASHED = "crashed"  # handling the URL raised, even after retries
    STORED = "stored"
    DUPLICATE = "duplicate"
    REVISED = "revised"  # a stored article fetched again with changed text: a new revision
    NO_CONTENT = "no_content"
    OUTSIDE_WINDOW = "outside_window"  # its page was published outside a backfill's window

    @property
    def is_transient(self) -> bool:
        """A failure that may pass by itself: the URL is worth another try in a later run."""
        return self in _TRANSIENT

    @property
    def is_permanent(self) -> bool:
        """A failure that will not get better by asking again soon."""
        return self not in _SUCCESSES and self not in _TRANSIENT and self != Outcome.HTTP_ERROR


class ListingOutcome(StrEnum):
    """What became of one listing (a feed, sitemap, listing page or API page) besides the
    fetch outcomes it shares with articles (not_modified, http_error, timeout...)."""

    LISTED = "listed"
    MALFORMED = "malformed"  # a listing that is broken; the links read before the break are kept
    CAPPED = "capped"  # a listing cap was hit; what lies beyond waits for a later run

    @property
    def is_transient(self) -> bool:
        """capped: the rest is read in a later run."""
        return self in _TRANSIENT

    @property
    def is_permanent(self) -> bool:
        """malformed: reading it again soon gives the same broken listing."""
        return self == ListingOutcome.MALFORMED


class FrontierState(StrEnum):
    """Where a URL stands in the frontier between attempts (frontier.state): one of these, or
    the Outcome of its last attempt."""

    DISCOVERED = "discovered"  # listed, not tried yet
    OUTSIDE_WINDOW = "outside_window"  # published outside a backfill's window: due for others
    ALIAS = "alias"  # it led to an article stored under another URL (redirect, canonical)


_TRANSIENT: frozenset[str] = frozenset(
    {
        Outcome.TIMEOUT,
        Outcome.NETWORK_ERROR,
        Outcome.TRUNCATED,
        Outcome.CRASHED,
        ListingOutcome.CAPPED,
        Outcome.BLOCKED,
    }
)
_SUCCESSES: frozenset[str] = frozenset(
    {
        Outcome.OK,
        Outcome.NOT_MODIFIED,
        Outcome.SKIPPED,
        ListingOutcome.LISTED,
        Outcome.STORED,
        Outcome.DUPLICATE,
        Outcome.REVISED,
        Outcome.OUTSIDE_WINDOW,
    }
)
# The one classification of failures, what run reports and source health count: every outcome
# that is neither a success nor deferred. capped is deferred, not failed: the configured limit
# left the rest for a later run (it is transient, so that run takes it up).
DEFERRED: frozenset[str] = frozenset({ListingOutcome.CAPPED})
FAILURES: tuple[str, ...] = tuple(
    o.value for o in (*Outcome, *ListingOutcome) if o not in _SUCCESSES and o not in DEFERRED
)
# Where a URL's frontier row ends (never fetched again but to re-check edits) or waits.
FINAL_STATES: frozenset[str] = frozenset({Outcome.STORED, FrontierState.ALIAS, Outcome.DUPLICATE})
WAITING_STATES: frozenset[str] = frozenset({FrontierState.DISCOVERED, FrontierState.OUTSIDE_WINDOW})


class Kind(StrEnum):
    """What a fetched URL is to the pipeline."""

    ARTICLE = "article"
    LISTING = "listing"  # a feed, sitemap, listing page or API page


class TranslationStatus(StrEnum):
    """Where an article stands with its English."""

    NOT_NEEDED = "not_needed"  # already English
    DONE = "done"
    PENDING_MODEL = "pending_model"  # no model installed for its language yet
    FAILED = "failed"


class PublishedSource(StrEnum):
    """Where an article's publication time came from, most trusted first."""

    PAGE_METADATA = "page_metadata"  # the page's meta tags or <time> elements
    JSON_LD = "json_ld"  # the page's schema.org datePublished
    PAGE_TEXT = "page_text"  # a date printed in the page (its byline), or htmldate's search
    FEED = "feed"  # the feed item that listed it
    SITEMAP = "sitemap"  # a Google News sitemap's publication_date
    LISTING = "listing"  # the listing page or JSON list that linked to it
    URL = "url"  # a /2025/10/04/ date in its address: a day, no time
    NONE = "none"  # no clue at all; never replaced by the fetch time


class CharsetSource(StrEnum):
    """Why a page was decoded with the charset it was."""

    HEADER = "header"  # the Content-Type header's charset
    BOM = "bom"  # a byte-order mark, which outranks the header as in browsers
    META = "meta"  # the page's <meta charset> (or an XML declaration)
    DETECTED = "detected"  # none declared (or the declared one did not fit): read from the bytes


@dataclass(frozen=True)
class Charset:
    """The charset a body was decoded with, and why that one."""

    name: str  # Python's codec name: utf-8, cp1251, gb18030, koi8-r
    source: CharsetSource


@dataclass(frozen=True)
class Link:
    """An article URL found by discovery, with what the listing already told us about it."""

    source_id: str
    url: str
    title: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None  # a sitemap's lastmod: an upper bound of publication
    summary: str | None = None  # a feed item's description, as plain text


@dataclass(frozen=True)
class Validators:
    """What a server said identifies a response (ETag, Last-Modified), for conditional GETs."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


_LISTING_VALUES = frozenset(o.value for o in ListingOutcome)


@dataclass(frozen=True)
class FetchAttempt:
    """What happened to one URL: a decoded page, or the recorded reason there is none.

    Every discovered URL ends in one of these, so the warehouse's fetch_log can say what became
    of it. outcome is an Outcome, or a ListingOutcome for a listing (plain strings are
    converted, and unknown ones refused); final_url is where redirects led, when they led
    somewhere else.
    """

    source_id: str
    url: str
    outcome: Outcome | ListingOutcome
    attempted_at: datetime
    http_status: int | None = None
    content_type: str | None = None
    text: str | None = None
    error: str | None = None
    validators: Validators = Validators()
    kind: Kind = Kind.ARTICLE
    final_url: str | None = None
    charset: Charset | None = None  # how text was decoded, when there is text

    def __post_init__(self) -> None:
        outcome = self.outcome
        typed = ListingOutcome(outcome) if outcome in _LISTING_VALUES else Outcome(outcome)
        object.__setattr__(self, "outcome", typed)
        object.__setattr__(self, "kind", Kind(self.kind))

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK

    @property
    def is_transient(self) -> bool:
        """Worth another try later: a passing failure, or a server status that says "not now"."""
        if self.outcome == Outcome.HTTP_ERROR:
            return self.http_status in RETRY_STATUSES
        return self.outcome.is_transient

    @property
    def is_permanent(self) -> bool:
        """A failure that asking again soon will not fix (a 404, a PDF, a refused address)."""
        if self.outcome == Outcome.HTTP_ERROR:
            return self.http_status not in RETRY_STATUSES
        return self.outcome.is_permanent


class Disclaimer(StrEnum):
    """A legal or publisher notice dropped from an article's text, kept as its kind."""

    FOREIGN_AGENT = "foreign_agent"  # the Russian "foreign agent" label required by law
    PUBLISHER_NOTICE = "publisher_notice"  # "声明：", "Disclaimer:": views are the author's


@dataclass(frozen=True)
class Extracted:
    """Main content of a page with its metadata, boilerplate removed."""

    title: str | None
    text: str
    author: str | None = None  # the authors joined by ", " (the column users had first)
    published_at: datetime | None = None  # a per-site parser's own date: the strongest clue
    declared_language: str | None = None
    canonical_url: str | None = None
    attribution: str | None = None  # provenance lines set apart from the text
    attribution_url: str | None = None  # the origin URL they give
    disclaimer: Disclaimer | None = None  # the kind of notice dropped from the text
    authors: tuple[str, ...] = ()  # the people of the byline, in order
    date_clues: tuple[Clue, ...] = ()  # every dated statement of the page (processing.published)
    paywall: str | None = None  # what shows the text is a teaser behind a paywall, if it is
