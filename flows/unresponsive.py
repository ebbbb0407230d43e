"""A run whose worker or machine vanished ends Crashed, instead of Running for ever.

A worker killed with its machine tells the server nothing: its flow run would stay Running, and
a pool ingest waiting for it would wait for ever. Flow runs of deployments send a heartbeat
event every HEARTBEAT_SECONDS (Prefect's PREFECT_FLOWS_HEARTBEAT_FREQUENCY, which `newsflow
serve` and `newsflow worker` set for their workers); an automation on the server marks a run
Crashed when no heartbeat, and no end, follows its start or its last heartbeat within the
allowed silence (the settings' unresponsive_after seconds, 150 by default: five heartbeats missed).
The pool ingest then sees the run Crashed and says so in its own end; its leases pass to the
other workers.
"""

from __future__ import annotations

from datetime import timedelta

from core.settings import VARIABLES

HEARTBEAT_SECONDS = 30  # Prefect's minimum
UNRESPONSIVE_ENV = VARIABLES["unresponsive_after"]
DEFAULT_SILENCE = timedelta(seconds=5 * HEARTBEAT_SECONDS)
AUTOMATION = "newsflow: unresponsive runs end Crashed"
HEARTBEAT = "prefect.flow-run.heartbeat"
_ENDS = ("Completed", "Failed", "Cancelled", "Crashed")


def heartbeat_env() -> dict[str, str]:
    """What a worker's environment needs for its flow runs to beat as the automation expects."""
    return {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)}


def allowed_silence(raw: str | None) -> timedelta:
    """How long a run may go without a heartbeat: the settings' unresponsive_after, seconds."""
    if not raw:
        return DEFAULT_SILENCE
    try:
        seconds = int(raw)
    except ValueError:
        raise ValueError(f"{UNRESPONSIVE_ENV} must be a number of seconds, not {raw!r}") from None
    if seconds < 2 * HEARTBEAT_SECONDS:
        # one late heartbeat on a loaded machine must not crash a run that is working
        raise ValueError(f"{UNRESPONSIVE_ENV} must be at least {2 * HEARTBEAT_SECONDS} seconds")
    return timedelta(seconds=seconds)


def watch_unresponsive_runs(silence: timedelta) -> None:
    """Create (or replace) the automation on the current Prefect API.

    Prefect is imported here: flows.serve, which reads this module's settings, starts the CLI
    without it."""
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture

    automation = Automation(
        name=AUTOMATION,
        description=(
            f"A flow run that sends no heartbeat and no end for {silence.total_seconds():.0f} s "
            "after its last heartbeat is marked Crashed: its worker or machine is gone."
        ),
        trigger=EventTrigger(
            # from its start too: a run whose machine goes before its first heartbeat is sent
            after={HEARTBEAT, "prefect.flow-run.Running"},
            expect={HEARTBEAT, *(f"prefect.flow-run.{end}" for end in _ENDS)},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=silence,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=(
                    f"no heartbeat for {silence.total_seconds():.0f} s: the run's worker or "
                    "machine is gone (its leases pass to other runs)"
                ),
            )
        ],
    )
    with get_client(sync_client=True) as client:
        for existing in client.read_automations_by_name(AUTOMATION):
            client.delete_automation(existing.id)
    automation.create()
