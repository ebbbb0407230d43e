"""The run summary and final state users see in the Prefect UI."""

from flows.summary import final_state, markdown
from warehouse.reports import SourceReport


def _report(source_id: str, listings_read: int = 1, listings_failed: int = 0) -> SourceReport:
    return SourceReport(source_id, 6, 4, 1, 1, 2, listings_read, listings_failed, 3.25)


def test_markdown_has_a_row_per_source_and_a_total():
    text = markdown([_report("caliber-az"), _report("toutiao")], "ingest 2025-10-01..07")
    assert "| fetched | new | duplicate | failed | translated | duration |" in text
    assert "| caliber-az | 6 | 4 | 1 | 1 | 2 | 3.2 s |" in text
    assert "| **total** | 12 | 8 | 2 | 2 | 4 | |" in text


def test_a_run_where_every_source_was_read_completes():
    state = final_state([_report("caliber-az")], data={"x": 1})
    assert state.is_completed()


def test_a_source_with_no_readable_listing_makes_a_named_partial_failure():
    reports = [_report("caliber-az"), _report("toutiao", listings_read=0, listings_failed=2)]
    state = final_state(reports, data={})
    assert state.is_failed() and state.name == "Partial failure"
    assert "toutiao" in state.message and "caliber-az" not in state.message
    assert "(no listing could be read)" in markdown(reports, "t")
