"""Alerts to the operator's webhook, sent by Prefect automations on the server.

Two automations post to one webhook (a CustomWebhookNotificationBlock named `newsflow-alerts`):
- a flow run that ends Failed (including "Partial failure") or Crashed;
- a source whose volume collapsed: the ingest flow emits a `newsflow.source.volume-collapsed`
  event when a source had no new article for `silent_runs` daily runs in a row, or fewer than
  `min_share_of_median` of its 14-day median (both per source in sources.yaml's `alerts`).

`newsflow serve` sets them up when NEWSFLOW_ALERT_WEBHOOK is set; `configure_alerts` does it on
any Prefect API.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prefect.automations import Automation
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture

from connectors.config import Alerts, Source
from warehouse.interface import Warehouse

WEBHOOK_ENV = "NEWSFLOW_ALERT_WEBHOOK"
WEBHOOK_BLOCK = "newsflow-alerts"
VOLUME_EVENT = "newsflow.source.volume-collapsed"
VOLUME_DAYS = 14
RUN_ALERT = "newsflow: a run failed"
RUN_ENDED = "{{ flow.name }} run {{ flow_run.name }} ended {{ flow_run.state.name }}"
VOLUME_ALERT = "newsflow: a source's volume collapsed"


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
        emit_event(
            event=VOLUME_EVENT,
            resource={
                "prefect.resource.id": f"newsflow.source.{alert.source_id}",
                "prefect.resource.name": alert.source_id,
            },
            payload={"source_id": alert.source_id, "new": alert.new, "reason": alert.reason},
        )
    return alerts


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
    volume = Automation(
        name=VOLUME_ALERT,
        description="A source brought no or far fewer new articles than usual.",
        trigger=EventTrigger(
            expect={VOLUME_EVENT},
            match={"prefect.resource.id": "newsflow.source.*"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject="newsflow: {{ event.payload.source_id }} volume collapsed",
                body="{{ event.payload.source_id }}: {{ event.payload.reason }}",
            )
        ],
    )
    return [run_failed, volume]
