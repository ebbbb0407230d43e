"""When a URL is due again: the frontier's policy, as a pure function of what happened to it.

The anchor is StormCrawler's status index: every URL has a state and a next fetch date.
Aliases and duplicates are never due again; stored articles only while they are recent, to
catch their edits; permanent failures are retried rarely and a few times; transient ones on a
growing back-off, then given up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from connectors.config import Revisit
from connectors.records import FINAL_STATES, WAITING_STATES, FetchAttempt


def next_due(
    attempt: FetchAttempt, failures: int, now: datetime, policy: Revisit
) -> datetime | None:
    """When to request the URL again after this attempt; None: never, by policy.

    failures counts the failed attempts in a row including this one (0 after a success).
    """
    if attempt.outcome in FINAL_STATES:
        return None
    if attempt.outcome in WAITING_STATES:  # left for a later run on purpose
        return now
    if attempt.is_transient:
        steps = policy.transient_backoff_hours
        return now + timedelta(hours=steps[failures - 1]) if failures <= len(steps) else None
    if failures < policy.permanent_attempts:
        return now + timedelta(days=policy.permanent_days)
    return None


def recheck_due(published: datetime | None, now: datetime, policy: Revisit) -> datetime | None:
    """When a stored article is re-checked for edits (a conditional GET); None: never again.

    Only articles whose publication is known and recent: within recheck_days, at most every
    recheck_every_hours; the last one is due inside the window, never after it.
    """
    if published is None or policy.recheck_days <= 0:
        return None
    due = now + timedelta(hours=policy.recheck_every_hours)
    return due if due <= published + timedelta(days=policy.recheck_days) else None
