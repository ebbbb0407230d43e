"""A retried flow run keeps its history: one `runs` row and one set of log rows per try.

Prefect retries a flow run under the same id with a higher run count, as the UI's Retry does.
The site's sitemap fails on the first request only, so the first try ends "Partial failure"
and the second completes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hostile_site import HostileSite, Request, response, urlset

from warehouse import store


def _page(number: int) -> bytes:
    body = "".join(
        f"<p>Part {i} of dispatch {number}: the ferry to Aktau resumed its crossings after the "
        "storm, the port authority said, and the first ships left on schedule.</p>"
        for i in range(5)
    )
    return response(f"<html><head><title>Ferry {number}</title></head><body>{body}</body></html>")


@pytest.fixture
def flaky_site(tmp_path, configure):
    with HostileSite() as site:
        calls = {"sitemap": 0}

        def sitemap(_request: Request) -> bytes:
            calls["sitemap"] += 1
            if calls["sitemap"] == 1:
                return response("busy", "503 Service Unavailable")
            links = [site.url(f"/ferry/{n}") for n in range(3)]
            return response(urlset(links), content_type="application/xml")

        site.route("/sitemap.xml", sitemap)
        for n in range(3):
            site.route(f"/ferry/{n}", _page(n))
        source = {"id": "port", "name": "Port", "kind": "sitemap", "base_url": site.base_url}
        source["sitemap_url"] = "/sitemap.xml"
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
        configure(sources_file=Path(sources))
        configure(db=Path(tmp_path / "w.duckdb"))
        configure(politeness="timeout_seconds=3,retries=0,delay_seconds=0")
        configure(base_url=None)
        yield site


def test_a_retried_run_keeps_one_row_per_try(prefect_api, flaky_site):
    from flows.ingest import ingest

    state = ingest.with_options(retries=1, retry_delay_seconds=0)(return_state=True)
    assert state.is_completed()
    with store.connect(read_only=True) as conn:
        runs = conn.execute(
            "select run_id, attempt, state, fetched, new, failed from runs order by attempt"
        ).fetchall()
        log = conn.execute(
            "select attempt, outcome, count(*) from fetch_log group by all order by all"
        ).fetchall()
    assert [row[1:] for row in runs] == [(1, "Partial failure", 0, 0, 1), (2, "Completed", 3, 3, 0)]
    assert runs[0][0] == runs[1][0]  # the same flow run, tried twice
    assert log == [(1, "http_error", 1), (2, "listed", 1), (2, "stored", 3)]
