"""Bot walls: telling a challenge page (Cloudflare, DDoS-Guard, Qrator, a bare JS check) apart.

A wall answers 401/403/429/503, or 200 with an interstitial that a browser would run and reload.
Either way the URL is `blocked`, with the vendor, so nobody reads it as "no content" or an empty
sitemap. Markers are looked for where a wall puts them (response headers, <script>, <title>,
form and script URLs), never in the page's readable text, and a 2xx page only counts as an
interstitial when it has almost no text: an article about Cloudflare is still an article.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import lxml.html
from lxml import etree

# Statuses walls answer with; an error body with one of these is read (capped) to look for one.
CHALLENGE_STATUSES = frozenset({401, 403, 429, 503})
MAX_CHALLENGE_BYTES = 262_144  # challenge pages are a few KB; a bigger error body is no wall
MAX_INTERSTITIAL_CHARS = 64_000  # a 2xx page longer than this is never looked at
MAX_VISIBLE_CHARS = 1_000  # readable text of an interstitial ("Checking your browser...")
BLOCKED_BY = "blocked by "  # how a blocked URL's error begins: "blocked by <vendor>: <evidence>"

_NAVIGATES = re.compile(
    r"location\s*\.\s*(reload|replace|assign)\s*\(|location(\s*\.\s*href)?\s*=[^=]", re.I
)
_ASKS_FOR_JS = re.compile(
    r"(enable|turn on|allow|включите|разрешите)\s+(javascript|js|cookies)", re.I
)
# A 2xx page is parsed only when it has one of these (lower-cased): most pages cost a lower().
_MARKERS = (
    "_cf_chl_",
    "cf-error-details",
    "ddos-guard",
    "__ddg",
    "__qrator",
    "qauth",
    "document.cookie",
)


class Vendor(StrEnum):
    """Who put the wall up; JS_CHALLENGE is a wall whose vendor leaves no name."""

    CLOUDFLARE = "cloudflare"
    DDOS_GUARD = "ddos-guard"
    QRATOR = "qrator"
    JS_CHALLENGE = "js-challenge"


@dataclass(frozen=True)
class Wall:
    """A challenge answered instead of the page: its vendor and the marker that gave it away."""

    vendor: Vendor
    evidence: str

    @property
    def error(self) -> str:
        """The recorded reason (fetch_log.error): SQL reads the vendor back from its start."""
        return f"{BLOCKED_BY}{self.vendor}: {self.evidence}"


@dataclass(frozen=True)
class _Page:
    """The parts of a page a wall writes: title, scripts, URLs in attributes, and the text."""

    title: str
    scripts: str  # inline script code, joined
    urls: str  # script src, form action, link href, meta refresh, joined
    ids: frozenset[str]  # id and class names
    visible: str  # readable text outside <script>/<style>


def detect(status: int, headers: Mapping[str, str], text: str | None) -> Wall | None:
    """The wall this response is, or None for a page (or an error) that is not a challenge.

    headers are the response's (names case-insensitive, as httpx gives them); text the decoded
    body, which may be empty where only the headers were read.
    """
    if wall := _by_headers(status, headers):
        return wall
    if not text:
        return None
    if status < 400 and (len(text) > MAX_INTERSTITIAL_CHARS or not _has_marker(text)):
        return None
    page = _read(text)
    if page is None:
        return None
    interstitial = len(page.visible) <= MAX_VISIBLE_CHARS
    for vendor, marker in _BODY_MARKERS:
        # A vendor's markers count on any error page; on a 2xx page and for the nameless JS
        # check, only where the page has next to no text (a cookie-consent script is no wall).
        if (interstitial or (status >= 400 and vendor != Vendor.JS_CHALLENGE)) and (
            evidence := marker(page)
        ):
            return Wall(vendor, f"{evidence} (HTTP {status})")
    if status >= 400 and interstitial and (evidence := _refusal(page)):
        return Wall(Vendor.JS_CHALLENGE, f"{evidence} (HTTP {status})")
    return None


def _has_marker(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _MARKERS)


def _by_headers(status: int, headers: Mapping[str, str]) -> Wall | None:
    """Walls that say so in their headers; a vendor's Server header alone counts on an error
    status only (DDoS-Guard and Qrator front every page of the sites they protect)."""
    if headers.get("cf-mitigated", "").strip().lower() == "challenge":
        return Wall(Vendor.CLOUDFLARE, f"cf-mitigated: challenge header (HTTP {status})")
    if status not in CHALLENGE_STATUSES:
        return None
    server = headers.get("server", "").lower()
    if "ddos-guard" in server:
        return Wall(Vendor.DDOS_GUARD, f"server: ddos-guard answered HTTP {status}")
    if "qrator" in server or any(name.lower().startswith("x-qrator") for name in headers):
        return Wall(Vendor.QRATOR, f"Qrator headers on HTTP {status}")
    return None


def _cloudflare(page: _Page) -> str | None:
    if "_cf_chl_opt" in page.scripts:
        return "window._cf_chl_opt challenge script"
    if "__cf_chl_" in page.urls:
        return "__cf_chl_ challenge token in the page's URLs"
    if "cf-error-details" in page.ids and "cloudflare" in page.title.lower():
        return f"Cloudflare block page ({page.title})"
    return None


def _ddos_guard(page: _Page) -> str | None:
    if "ddos-guard" in page.urls.lower() or "ddos-guard" in page.scripts.lower():
        return "DDoS-Guard check script"
    if "ddos-guard" in page.title.lower():
        return f"DDoS-Guard page ({page.title})"
    if "__ddg" in page.scripts:
        return "__ddg cookie set by script"
    return None


def _qrator(page: _Page) -> str | None:
    if "/__qrator/" in page.urls or "qauth" in page.urls.lower():
        return "Qrator qauth script"
    if "qauth" in page.scripts.lower():
        return "Qrator qauth cookie set by script"
    return None


def _js_challenge(page: _Page) -> str | None:
    """The shape every JS check shares: a script that sets a cookie, then reloads."""
    if "document.cookie" in page.scripts and _NAVIGATES.search(page.scripts):
        return "a script sets a cookie and reloads the page"
    return None


def _refusal(page: _Page) -> str | None:
    """An error page that only asks for JavaScript or cookies (a 2xx one may be an app shell
    whose article sits in its JSON, so this counts on error statuses only)."""
    if _ASKS_FOR_JS.search(page.visible):
        return "an error page that only asks to enable JavaScript or cookies"
    return None


_BODY_MARKERS: tuple[tuple[Vendor, Callable[[_Page], str | None]], ...] = (
    (Vendor.CLOUDFLARE, _cloudflare),
    (Vendor.DDOS_GUARD, _ddos_guard),
    (Vendor.QRATOR, _qrator),
    (Vendor.JS_CHALLENGE, _js_challenge),
)


def _read(text: str) -> _Page | None:
    """The parts of the page walls write, or None when it is no HTML at all."""
    try:
        tree = lxml.html.document_fromstring(text.encode("utf-8"))
    except (etree.ParserError, ValueError):
        return None
    scripts = [s.text or "" for s in tree.iter("script")]
    urls = [
        value
        for element in tree.iter("script", "form", "link", "meta", "iframe")
        for value in (element.get("src"), element.get("action"), element.get("href"))
        if value
    ]
    urls += [m.get("content") or "" for m in tree.iter("meta") if m.get("http-equiv")]
    ids = {
        name
        for element in tree.iter()
        if isinstance(element.tag, str)
        for name in (element.get("id") or "", *(element.get("class") or "").split())
        if name
    }
    for element in list(tree.iter("script", "style")):
        element.drop_tree()
    title = tree.findtext(".//title") or ""
    visible = " ".join(tree.text_content().split())
    return _Page(title.strip(), "\n".join(scripts), "\n".join(urls), frozenset(ids), visible)
