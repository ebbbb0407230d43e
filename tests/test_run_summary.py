"""The run summary, the WARNING lines and the final state users see in the Prefect UI."""

import json
import logging

import pytest
from prefect.exceptions import FailedRun
from prefect.states import get_state_exception

from flows.summary import final_state
from pipeline.summary import markdown, warn_failures
from warehouse.reports import FailureExample, SourceReport

DEAD_LINKS = (
    FailureExample("https://caliber.az/post/1", "http_error", "HTTP 500"),
    FailureExample("https://caliber.az/post/2", "timeout", "read timed out"),
)


def _report(
    source_id: str, listings_read: int = 1, listings_failed: int = 0, failed: int = 1
) -> SourceReport:
    failures = {"http_error": failed - 1, "timeout": 1} if failed else {}
    return SourceReport(
        source_id, 6, 4, 1, failed, 2, listings_read, listings_failed, 3.25,
        failures={k: v for k, v in failures.items() if v},
        examples=DEAD_LINKS[:failed],
    )  # fmt: skip


def test_markdown_has_a_row_per_source_and_a_total():
    text = markdown([_report("caliber-az"), _report("toutiao")], "ingest 2025-10-01..07")
    assert "| fetched | new | revised | duplicate | failed | translated | duration |" in text
    assert "| caliber-az | 6 | 4 | 0 | 1 | 1 | 2 | 3.2 s |" in text
    assert "| **total** | 12 | 8 | 0 | 2 | 2 | 4 | |" in text


def test_markdown_lists_the_failure_reasons_with_example_urls():
    text = markdown([_report("caliber-az", failed=2), _report("toutiao", failed=0)], "t")
    assert "- **caliber-az**: http_error 1, timeout 1" in text
    assert "  - http_error: <https://caliber.az/post/1> (HTTP 500)" in text
    assert "toutiao**" not in text


def test_a_run_within_the_threshold_completes_with_json_figures():
    state = final_state([_report("caliber-az")], failure_threshold=0.2)  # 1 of 7 failed
    assert state.is_completed()
    figures = state.result()
    assert json.loads(json.dumps(figures))["caliber-az"]["new"] == 4


def test_a_source_with_no_readable_listing_makes_a_named_partial_failure():
    reports = [_report("caliber-az"), _report("toutiao", listings_read=0, listings_failed=2)]
    state = final_state(reports, failure_threshold=1.0)
    assert state.is_failed() and state.name == "Partial failure"
    assert state.message == "partial failure: no listing could be read from toutiao"
    assert "(no listing could be read)" in markdown(reports, "t")


def test_failures_over_the_threshold_fail_the_run_and_under_it_do_not():
    reports = [_report("caliber-az", failed=2)]  # 2 of 7 attempts: 29 %
    assert final_state(reports, failure_threshold=0.3).is_completed()
    state = final_state(reports, failure_threshold=0.25)
    assert state.is_failed()
    assert state.message == "partial failure: 2 of 7 URLs of caliber-az failed (29% > 25%)"


def test_a_partial_failure_resolves_to_a_failed_run_not_a_type_error():
    state = final_state([_report("toutiao", listings_read=0, listings_failed=1)], 0.2)
    assert isinstance(get_state_exception(state), FailedRun)
    with pytest.raises(FailedRun, match="no listing could be read from toutiao"):
        state.result()


def test_one_warning_per_failing_source_with_counts_and_examples(caplog):
    logger = logging.getLogger("newsflow.test")
    reports = [_report("caliber-az", failed=2), _report("toutiao", failed=0)]
    with caplog.at_level(logging.WARNING, logger="newsflow.test"):
        warn_failures(reports, logger)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "caliber-az: 2 of 7 failed (http_error 1, timeout 1); e.g. "
        "https://caliber.az/post/1 (http_error: HTTP 500); "
        "https://caliber.az/post/2 (timeout: read timed out)"
    )
