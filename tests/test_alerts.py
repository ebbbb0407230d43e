"""Alerts reach the operator's webhook through Prefect automations set up by the local stack.

A real server with its automation services, the project's deployments and a worker; a real
HTTP receiver on 127.0.0.1 stands in for the operator's chat or pager webhook.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import start_deployment
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from connectors.config import Alerts, Source
from flows.alerts import (
    BLOCKED_ALERT,
    CANARY_ALERT,
    RUN_ALERT,
    VOLUME_ALERT,
    check_volume,
    check_walls,
    collapsed,
    flag_layout_changes,
)
from flows.serve import LocalStack, free_port
from warehouse import store
from warehouse.health import CanaryCheck, CanaryStatus
from warehouse.interface import DuckDBWarehouse
from warehouse.reports import SourceReport

SETTINGS = Alerts(silent_days=3, min_share_of_median=0.25)
MONDAY = date(2025, 10, 6)


def _days(*new: int) -> list[tuple[date, int]]:
    """New articles on consecutive days up to MONDAY, newest first."""
    return [(MONDAY - timedelta(days=back), count) for back, count in enumerate(new)]


def test_a_source_silent_for_n_days_collapsed():
    alert = collapsed("toutiao", _days(0, 0, 0, 12), SETTINGS)
    assert alert and alert.reason == "no new article in the last 3 days of daily runs"
    assert collapsed("toutiao", _days(0, 0, 5, 0), SETTINGS) is None


def test_a_source_far_under_its_median_collapsed_and_a_normal_day_did_not():
    alert = collapsed("caliber-az", _days(2, 10, 12, 9, 11), SETTINGS)
    assert alert and alert.reason == (
        "2 new articles on 2025-10-06, under 25% of the median of its 4 earlier days (10.5)"
    )
    assert collapsed("caliber-az", _days(3, 10, 12, 9, 11), SETTINGS) is None
    assert collapsed("caliber-az", _days(4), SETTINGS) is None  # a first day: nothing to compare


def test_a_day_is_compared_with_the_same_weekday():
    """A quiet Sunday is a Sunday like the others; the same count on a Monday is a collapse."""
    weeks = [(MONDAY - timedelta(days=back), 20) for back in range(1, 21)]
    history = [(day, 2 if day.weekday() == 6 else new) for day, new in weeks]  # quiet Sundays
    assert collapsed("azertac", history, SETTINGS) is None  # the latest day is a Sunday: 2
    alert = collapsed("azertac", [(MONDAY, 3), *history], SETTINGS)
    assert alert and alert.reason == (
        "3 new articles on 2025-10-06, under 25% of the median of its 2 earlier Mondays (20)"
    )


def test_two_runs_on_one_day_are_one_day_and_the_collapse_next_day_alerts_once(tmp_path):
    """A manual run after the scheduled one brings little: its day is not a collapse."""
    path = tmp_path / "w.duckdb"
    warehouse = DuckDBWarehouse(path)
    since = datetime.now(UTC) - timedelta(days=30)
    alerts = []
    yesterday = datetime.now(UTC).replace(hour=1) - timedelta(days=1)
    runs = [(yesterday, 12), (yesterday + timedelta(hours=3), 1), (datetime.now(UTC), 1)]
    for number, (at, new) in enumerate(runs):
        _record_daily_run(path, f"run-{number}", at, "toutiao", new)
        history = warehouse.daily_volume(since)["toutiao"]
        alerts.append(collapsed("toutiao", history, SETTINGS))
    assert alerts[:2] == [None, None]
    assert (
        alerts[2]
        and alerts[2].new == 1
        and "median of its 1 earlier days (13)" in (alerts[2].reason)
    )


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.put(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, queue.Queue]]:
    """The operator's webhook: every JSON body POSTed to it, in order."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = queue.Queue()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", server.received  # type: ignore[attr-defined]
    server.shutdown()


@pytest.fixture(scope="module")
def stack(webhook, tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    env = {"NEWSFLOW_ALERT_WEBHOOK": webhook[0], "NEWSFLOW_DB": str(home / "w.duckdb")}
    with LocalStack(home=home, port=free_port(), extra_env=env) as running:
        # Prefect keeps one events worker per process, bound to the API of the first event:
        # stop any that another module's server left, so this module's events reach its own
        EventsWorker.drain_all(timeout=10)
        yield running
        EventsWorker.drain_all(timeout=10)


def _next_alert(received: queue.Queue, timeout: float = 120) -> dict:
    return received.get(timeout=timeout)


def test_serve_sets_up_the_automations(stack):
    automations = httpx.post(f"{stack.api_url}/automations/filter", json={}).json()
    assert {a["name"] for a in automations} >= {
        RUN_ALERT,
        VOLUME_ALERT,
        BLOCKED_ALERT,
        CANARY_ALERT,
    }


def test_a_failed_run_alerts_the_webhook(stack, webhook):
    _, received = webhook
    window = {"since": "2025-10-07", "until": "2025-10-01"}  # refused: fails at once
    start_deployment(stack.api_url, "backfill/backfill", window)
    alert = _next_alert(received)
    assert alert["subject"] == (
        "newsflow: backfill run backfill 2025-10-07..2025-10-01 all sources ended Failed"
    )
    assert "since (2025-10-07) is after until (2025-10-01)" in alert["text"]


def _record_daily_run(path, run_id: str, at: datetime, source_id: str, new: int) -> None:
    """A daily ingest run in the warehouse's runs and fetch log: a listing and `new` stored."""
    with store.connect(path) as conn:
        conn.execute(
            "INSERT INTO runs (run_id, attempt, flow, started_at, ended_at, parameters, "
            "fetched, new, duplicate, failed, translated) "
            "VALUES (?, 1, 'ingest', ?, ?, '{\"sources\": null}', ?, ?, 0, 0, 0)",
            [run_id, at, at, new, new],
        )
        rows = [(run_id, source_id, f"https://x/{run_id}/listing", "listed", "listing", at)]
        rows += [
            (run_id, source_id, f"https://x/{run_id}/{i}", "stored", "article", at)
            for i in range(new)
        ]
        conn.executemany(
            "INSERT INTO fetch_log (run_id, source_id, url, outcome, kind, attempted_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


def _daily_runs(path, source_id: str, new_per_day: list[int]) -> None:
    """A warehouse holding one daily run a day of one source, oldest first, the last today."""
    start = datetime.now(UTC) - timedelta(days=len(new_per_day) - 1)
    for day, new in enumerate(new_per_day):
        _record_daily_run(path, f"run-{day}", start + timedelta(days=day), source_id, new)


def test_a_collapsed_source_alerts_the_webhook(stack, webhook, tmp_path):
    _, received = webhook
    _daily_runs(tmp_path / "w.duckdb", "toutiao", [11, 9, 12, 10, 1])
    toutiao = Source("toutiao", "Toutiao", "json_api", "https://www.toutiao.com")
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
        [alert] = check_volume(warehouse, [toutiao], logging.getLogger("test"))
    assert alert.new == 1
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        received_alert = _next_alert(received, timeout=deadline - time.monotonic())
        if "volume collapsed" in received_alert["subject"]:
            break
    assert received_alert == {
        "subject": "newsflow: toutiao volume collapsed",
        "text": f"toutiao: 1 new articles on {datetime.now(UTC).date().isoformat()}, under 25% "
        "of the median of its 4 earlier days (10.5)",
    }


def test_a_source_behind_a_wall_and_a_flagged_canary_alert_the_webhook(stack, webhook):
    _, received = webhook
    walled = SourceReport(
        "caucasian-knot", 0, 0, 0, 1, 0, 0, 1, 0.4,
        failures={"blocked": 1}, walls={"ddos-guard": 1}, listings_blocked=1,
    )  # fmt: skip
    canary = CanaryCheck(
        "caliber-az", "https://caliber.az/en/post/1", CanaryStatus.CHANGED, datetime.now(UTC),
        2400, 180, reason="text shrank from 2400 to 180 characters",
    )  # fmt: skip
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        check_walls([walled], logging.getLogger("test"))
        flag_layout_changes([canary], logging.getLogger("test"))
    wanted = {
        "newsflow: caucasian-knot blocked by a bot wall",
        "newsflow: caliber-az layout changed",
    }
    seen: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while not wanted <= seen.keys() and time.monotonic() < deadline:
        alert = _next_alert(received, timeout=deadline - time.monotonic())
        seen[alert["subject"]] = alert["text"]
    assert seen["newsflow: caucasian-knot blocked by a bot wall"] == (
        "caucasian-knot: 1 of 1 URLs blocked by ddos-guard (every listing); "
        "tried again in a later run"
    )
    assert seen["newsflow: caliber-az layout changed"] == (
        "caliber-az: text shrank from 2400 to 180 characters (canary https://caliber.az/en/post/1)"
    )
