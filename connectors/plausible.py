"""The one window every date from the web must fall in before anything downstream sees it.

CMSs print 9999-12-31 for "no date", 0001-01-01 for "unset", and a clock skewed by years now
and then; a feed of such values must not move a source's cursor into the next century or
store an article as published in year 10000. A date outside the window is dropped (the
caller records the raw value), never clamped: a wrong date is worse than none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

EARLIEST = date(1990, 1, 1)
FUTURE_DAYS = 2.0

log = logging.getLogger("newsflow.untrusted")


@dataclass(frozen=True)
class DateWindow:
    """Dates from the web are believed from `earliest` to `future_days` after now."""

    earliest: date = EARLIEST
    future_days: float = FUTURE_DAYS

    def latest(self, now: datetime | None = None) -> datetime:
        """The latest believable moment: now plus the slack for zones and skewed clocks."""
        return (now or datetime.now(UTC)) + timedelta(days=self.future_days)


def plausible_date(
    moment: object, window: DateWindow = DateWindow(), now: datetime | None = None
) -> datetime | None:
    """`moment` when it is a datetime inside the window (zone-less ones read as UTC); else None.

    Never raises: a year-1 date with a +14:00 offset overflows when converted, and is refused.
    """
    if not isinstance(moment, datetime):
        return None
    try:
        utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        return None
    earliest = datetime.combine(window.earliest, time.min, UTC)
    return moment if earliest <= utc <= window.latest(now) else None


def checked_date(
    moment: datetime | None, where: str, window: DateWindow = DateWindow()
) -> datetime | None:
    """plausible_date for a value that came from `where`, logging the refused raw value."""
    if moment is None:
        return None
    if (kept := plausible_date(moment, window)) is None:
        log.warning("implausible date %s of %s dropped", _raw(moment), where)
    return kept


def _raw(moment: datetime) -> str:
    try:
        return moment.isoformat()
    except (OverflowError, ValueError):
        return repr(moment)
