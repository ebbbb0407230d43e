"""What a flow run publishes to Prefect beside its state: artifacts a person reads in the UI."""

from __future__ import annotations

import logging

from prefect.artifacts import create_markdown_artifact

from desk.digest import DigestFiles, summary_markdown, write_digest


def publish_daily_digest(logger: logging.Logger | logging.LoggerAdapter) -> DigestFiles | None:
    """At the end of a daily run: write today's digest and make its summary the run's artifact.

    The run's articles are already committed, so a digest that cannot be written is logged and
    does not change how the run ended.
    """
    try:
        files = write_digest(only_if_changed=True)
    except Exception:
        logger.exception("the daily digest could not be written")
        return None
    if not files.changed:
        logger.info("digest: %s unchanged since it was last written", files.page)
        return files
    create_markdown_artifact(
        key="daily-digest", markdown=summary_markdown(files), description="the day's digest"
    )
    logger.info("digest: %d stories in %s", len(files.digest.stories), files.page)
    return files
