"""robots.txt by RFC 9309: which URLs of a host we may fetch, and what an unreadable file means."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from protego import Protego

from connectors.records import FetchAttempt, Outcome

ROBOTS_AGENT = "newsflow"  # the token robots.txt groups are matched against
ROBOTS_MAX_BYTES = 512_000  # RFC 9309 asks parsers to read at least 500 KiB; the rest is ignored
ROBOTS_DISALLOWED = "disallowed by robots.txt"
_UNAVAILABLE = frozenset({Outcome.EMPTY, Outcome.REDIRECT_LOOP, Outcome.REFUSED, Outcome.TOO_LARGE})


@dataclass(frozen=True)
class Robots:
    """A host's robots.txt rules; or, when it could not be read, how its URLs end this run."""

    rules: Protego | None = None
    outcome: Outcome | None = None  # set when every URL of the host is off limits this run
    http_status: int | None = None
    error: str | None = None

    def refusal(self, url: str) -> tuple[Outcome, int | None, str] | None:
        """Why the URL may not be fetched (outcome, status, error); None when it may."""
        if self.outcome is not None:
            return self.outcome, self.http_status, self.error or ""
        if self.rules is not None and not self.rules.can_fetch(url, ROBOTS_AGENT):
            return Outcome.SKIPPED, None, ROBOTS_DISALLOWED
        return None


def robots_url(url: str) -> str:
    """The robots.txt governing a URL (one per scheme, host and port)."""
    return str(httpx.URL(url).copy_with(userinfo=b"", raw_path=b"/robots.txt", fragment=None))


def robots_from(attempt: FetchAttempt) -> Robots:
    """RFC 9309: 2xx is parsed, 4xx means no rules, and an unreachable robots.txt (5xx, 429,
    no answer) means nothing on the host is fetched this run: those URLs end with the
    robots.txt failure itself, so a later run tries them again. Redirects that never reach a
    file (more than five, or to where the crawler may not go: another scheme, a private
    address) make it unavailable, as RFC 9309 2.3.1.2 allows, like a 4xx, and so does a file
    over the source's max_bytes: the host's one odd answer must not cost every page of its
    sources in every run. A long file is read to its first ROBOTS_MAX_BYTES (RFC 9309 2.5)."""
    if attempt.ok:
        return Robots(rules=Protego.parse(_head(attempt.text or "")))
    status = attempt.http_status or 0
    if attempt.outcome in _UNAVAILABLE or (400 <= status < 500 and status != 429):
        return Robots()
    error = f"robots.txt unreachable ({attempt.error or attempt.outcome}): not fetched this run"
    outcome = attempt.outcome if attempt.is_transient else Outcome.SKIPPED
    return Robots(outcome=outcome, http_status=attempt.http_status, error=error)


def _head(text: str) -> str:
    """The first ROBOTS_MAX_BYTES of a robots.txt, cut after its last whole line."""
    if len(text) <= ROBOTS_MAX_BYTES:
        return text
    return text[:ROBOTS_MAX_BYTES].rpartition("\n")[0]
