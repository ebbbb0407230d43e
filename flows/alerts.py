"""Alerts to the operator's webhook, sent by Prefect automations on the server.

Four automations post to one webhook (a CustomWebhookNotificationBlock named `newsflow-alerts`):
- a flow run that ends Failed (including "Partial failure") or Crashed;
- a source whose volume collapsed: the ingest flow emits a `newsflow.source.volume-collapsed`
  event when a source had no new article for `silent_runs` daily runs in a row, or fewer than
  `min_share_of_median` of its 14-day median (both per source in sources.yaml's `alerts`);
- a source behind a bot wall: every ingest run emits `newsflow.source.blocked`, naming the
  vendors, for each source a challenge page answered;
- a source whose layout changed: the maintenance flow's canary emits
  `newsflow.source.layout-changed` when its latest good article no longer extracts as it did.

`newsflow serve` sets them up when the settings name an alert webhook; `configure_alerts` does it on
any Prefect API.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prefect.automations import Automation
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture

from connectors.config import Alerts, Source
from warehouse.health import CanaryCheck, CanaryStatus
from warehouse.interface import Warehouse
from warehouse.reports import SourceReport

WEBHOOK_BLOCK = "newsflow-alerts"
VOLUME_EVENT = "newsflow.source.volume-collapsed"
VOLUME_DAYS = 14
RUN_ALERT = "newsflow: a run failed"
RUN_ENDED = "{{ flow.name }} run {{ flow_run.name }} ended {{ flow_run.state.name }}"
VOLUME_ALERT = "newsflow: a source's volume collapsed"
BLOCKED_EVENT = "newsflow.source.blocked"
BLOCKED_ALERT = "newsflow: a source is behind a bot wall"
CANARY_EVENT = "newsflow.source.layout-changed"
CANARY_ALERT = "newsflow: a source's layout changed"


@dataclass(frozen=True)
class VolumeAlert:
    """A source whose latest daily runs brought (almost) nothing new, and why that is alarming."""

    source_id: str
    new: int  # in the latest daily run
    reason: str


def collapsed(source_id: str, history: Sequence[int], settings: Alerts) -> VolumeAlert | None:
    """Whether a source's daily volume collapsed; history is new articles per run, newest first."""
    if not history:
        return None
    latest, earlier = history[0], history[1:]
    silent = history[: settings.silent_runs]
    if len(silent) == settings.silent_runs and not any(silent):
        reason = f"no new article in the last {settings.silent_runs} daily runs"
        return VolumeAlert(source_id, latest, reason)
    median = statistics.median(earlier) if earlier else 0
    if median and latest < settings.min_share_of_median * median:
        reason = (
            f"{latest} new articles, under {settings.min_share_of_median:.0%} of its "
            f"{VOLUME_DAYS}-day median of {median:g}"
        )
        return VolumeAlert(source_id, latest, reason)
    return None


def check_volume(
    warehouse: Warehouse,
    sources: Sequence[Source],
    logger: logging.Logger | logging.LoggerAdapter,
) -> list[VolumeAlert]:
    """After a daily run is recorded: log and emit an event for each source whose volume fell.

    The events reach the operator through the volume automation; without one they only log.
    """
    since = datetime.now(UTC) - timedelta(days=VOLUME_DAYS)
    history = warehouse.daily_volume(since)
    alerts = [
        alert
        for source in sources
        if (alert := collapsed(source.id, history.get(source.id, []), source.alerts))
    ]
    for alert in alerts:
        logger.warning("%s: volume collapsed: %s", alert.source_id, alert.reason)
        source_event(VOLUME_EVENT, alert.source_id, alert.reason, new=alert.new)
    return alerts


@dataclass(frozen=True)
class WallAlert:
    """A source a bot wall answered this run: URLs blocked per vendor."""

    source_id: str
    walls: Mapping[str, int]
    reason: str


def check_walls(
    reports: Sequence[SourceReport], logger: logging.Logger | logging.LoggerAdapter
) -> list[WallAlert]:
    """After a run is recorded: log and emit an event for each source behind a bot wall.

    Walls alert even under the failure threshold: they rarely stay small, and a wall that
    blocks the listing hides every article behind it.
    """
    alerts = []
    for report in reports:
        if not report.walls:
            continue
        blocked = sum(report.walls.values())
        scope = " (every listing)" if report.walled_out else ""
        reason = (
            f"{blocked} of {report.attempted} URLs blocked by {', '.join(report.walls)}{scope}; "
            "tried again in a later run"
        )
        alerts.append(WallAlert(report.source_id, report.walls, reason))
    for alert in alerts:
        logger.warning("%s: behind a bot wall: %s", alert.source_id, alert.reason)
        source_event(BLOCKED_EVENT, alert.source_id, alert.reason, vendors=dict(alert.walls))
    return alerts


def flag_layout_changes(
    checks: Sequence[CanaryCheck], logger: logging.Logger | logging.LoggerAdapter
) -> list[CanaryCheck]:
    """After the canaries ran: log and emit an event for each source they flagged."""
    flagged = [c for c in checks if c.status == CanaryStatus.CHANGED]
    for check in flagged:
        reason = f"{check.reason} (canary {check.url})"
        logger.warning("%s: layout changed: %s", check.source_id, reason)
        source_event(CANARY_EVENT, check.source_id, reason, url=check.url, lost=list(check.lost))
    return flagged


def source_event(event: str, source_id: str, reason: str, **payload: object) -> None:
    """Emit a source's alert event; the automation of that event posts it to the webhook."""
    emit_event(
        event=event,
        resource={
            "prefect.resource.id": f"newsflow.source.{source_id}",
            "prefect.resource.name": source_id,
        },
        payload={"source_id": source_id, "reason": reason, **payload},
    )


def configure_alerts(webhook_url: str) -> None:
    """Point the alert automations at a webhook on the current Prefect API (replacing any)."""
    block = CustomWebhookNotificationBlock(
        name=WEBHOOK_BLOCK,
        url=webhook_url,
        method="POST",
        json_data={"subject": "{{subject}}", "text": "{{body}}"},
    )
    block_id = block.save(WEBHOOK_BLOCK, overwrite=True)
    for automation in _automations(block_id):
        with get_client(sync_client=True) as client:
            for existing in client.read_automations_by_name(automation.name):
                client.delete_automation(existing.id)
        automation.create()


def _automations(block_id: object) -> list[Automation]:
    run_failed = Automation(
        name=RUN_ALERT,
        description="A flow run ended Failed (including Partial failure) or Crashed.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.*"},
            match={
                "prefect.resource.id": "prefect.flow-run.*",
                "prefect.state-type": ["FAILED", "CRASHED"],
            },
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject=f"newsflow: {RUN_ENDED}",
                body=f"{RUN_ENDED}: {{{{ flow_run.state.message }}}}",
            )
        ],
    )
    sources = [
        (VOLUME_ALERT, VOLUME_EVENT, "volume collapsed", "A source brought far fewer articles."),
        (BLOCKED_ALERT, BLOCKED_EVENT, "blocked by a bot wall", "A challenge page answered."),
        (CANARY_ALERT, CANARY_EVENT, "layout changed", "Its canary no longer extracts."),
    ]
    return [run_failed] + [
        _source_automation(block_id, name, event, problem, description)
        for name, event, problem, description in sources
    ]


def _source_automation(
    block_id: object, name: str, event: str, problem: str, description: str
) -> Automation:
    """An automation that posts one kind of source event to the webhook, with its reason."""
    return Automation(
        name=name,
        description=description,
        trigger=EventTrigger(
            expect={event},
            match={"prefect.resource.id": "newsflow.source.*"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject=f"newsflow: {{{{ event.payload.source_id }}}} {problem}",
                body="{{ event.payload.source_id }}: {{ event.payload.reason }}",
            )
        ],
    )
