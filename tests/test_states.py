"""Typed states: fetch outcomes, listing outcomes and frontier states apart, one failure list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.records import (
    FAILURES,
    FINAL_STATES,
    WAITING_STATES,
    FetchAttempt,
    FrontierState,
    ListingOutcome,
    Outcome,
)

NOW = datetime(2025, 10, 8, tzinfo=UTC)


def test_each_state_machine_has_its_own_enum():
    assert not {o.value for o in Outcome} & {o.value for o in ListingOutcome}
    assert {s.value for s in FrontierState} - {o.value for o in Outcome} == {"discovered", "alias"}


@pytest.mark.parametrize(
    ("value", "typed"),
    [("listed", ListingOutcome.LISTED), ("capped", ListingOutcome.CAPPED), ("ok", Outcome.OK)],
)
def test_an_attempt_takes_the_outcome_of_its_machine(value, typed):
    outcome = FetchAttempt("s", "https://x.test/", value, NOW).outcome
    assert outcome is typed


def test_a_frontier_state_is_no_fetch_outcome():
    with pytest.raises(ValueError):
        FetchAttempt("s", "https://x.test/", "discovered", NOW)


def test_one_failure_list_names_every_outcome_that_is_neither_success_nor_deferred():
    assert "malformed" in FAILURES and "blocked" in FAILURES and "no_content" in FAILURES
    assert "capped" not in FAILURES  # deferred: the configured limit, taken up by a later run
    assert ListingOutcome.CAPPED.is_transient and ListingOutcome.MALFORMED.is_permanent
    for success in ("ok", "listed", "stored", "duplicate", "revised", "outside_window"):
        assert success not in FAILURES
    assert {"stored", "alias", "duplicate"} == FINAL_STATES
    assert {"discovered", "outside_window"} == WAITING_STATES
