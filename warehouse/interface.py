"""The warehouse as the pipeline sees it: the dozen operations it needs, behind one interface.

Flows and the pipeline core call these instead of opening connections (as dlt's destinations
do). DuckDBWarehouse runs them on the embedded DuckDB file or, where the settings' warehouse
names one, on a DuckLake that several workers share (warehouse/lake.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import duckdb

from connectors.config import Revisit, Source
from connectors.records import FetchAttempt, Link
from processing.models import ModelInfo
from processing.records import Article, Translation, UrlResult
from warehouse import (
    archive,
    clusters,
    frontier,
    health,
    loads,
    reports,
    state,
    store,
    translations,
)
from warehouse.archive import ArchivedPage, Body
from warehouse.frontier import Claimed, Refetch
from warehouse.health import CanaryCheck
from warehouse.loads import LoadResult, RunKey
from warehouse.reports import SourceReport
from warehouse.search import refresh_index
from warehouse.state import SourceState
from warehouse.stories import refresh_stories
from warehouse.translations import PendingArticle


class Warehouse(Protocol):
    """What the pipeline stores and asks; implementations own their SQL and transactions."""

    def holding(self) -> AbstractContextManager[None]: ...
    def register_sources(self, sources: Sequence[Source]) -> None: ...
    def source_state(self, source_id: str) -> SourceState: ...
    def record_listings(
        self, run: RunKey, attempts: Sequence[FetchAttempt], links: Sequence[Link], now: datetime
    ) -> int: ...
    def remember_listings(
        self, source_id: str, attempts: Sequence[FetchAttempt], links: Sequence[Link]
    ) -> None: ...
    def claim(
        self,
        source_id: str,
        owner: str,
        limit: int,
        now: datetime,
        run_started: datetime,
        window: tuple[date | None, date | None],
        refetch: Refetch | None,
    ) -> list[Claimed]: ...
    def commit_chunk(
        self,
        run: RunKey,
        results: Sequence[UrlResult],
        policy: Callable[[str], Revisit],
        now: datetime,
        packed: Mapping[str, Body] | None = None,
    ) -> LoadResult: ...
    def release(self, owner: str) -> None: ...
    def leased_elsewhere(self, source_id: str, owner: str, now: datetime) -> int: ...
    def cached(self, model: ModelInfo, texts: Sequence[str]) -> dict[str, str]: ...
    def remember(self, model: ModelInfo, new: Mapping[str, str]) -> None: ...
    def archived_urls(
        self,
        urls: list[str] | None,
        source_id: str | None,
        since: date | None,
        until: date | None,
    ) -> list[str]: ...
    def archived_pages(self, urls: Sequence[str]) -> list[ArchivedPage]: ...
    def replace_articles(self, articles: Sequence[Article]) -> int: ...
    def run_report(self, run: RunKey) -> list[SourceReport]: ...
    def articles_report(self, urls: list[str], seconds: float) -> list[SourceReport]: ...
    def run_outcomes(self, run: RunKey) -> dict[str, dict[str, int]]: ...
    def record_run(
        self, record: store.RunRecord, figures: Sequence[SourceReport], state: str | None
    ) -> None: ...
    def open_run(
        self, record: store.RunRecord, sources: Sequence[Source], now: datetime
    ) -> list[str]: ...
    def close_run(
        self, record: store.RunRecord, decide: Callable[[list[SourceReport]], str]
    ) -> tuple[list[SourceReport], dict[str, dict[str, int]]]: ...
    def count_pending(self, languages: Sequence[str]) -> int: ...
    def daily_volume(self, since: datetime) -> dict[str, list[tuple[date, int]]]: ...
    def known_urls(self, source_id: str) -> set[str]: ...
    def window_coverage(
        self, source_id: str, since: date | None, until: date | None
    ) -> tuple[int, int]: ...
    def pending_articles(
        self, languages: Sequence[str], after: str, limit: int
    ) -> list[PendingArticle]: ...
    def still_pending(self, urls: Sequence[str]) -> list[PendingArticle]: ...
    def save_translations(
        self, results: Sequence[tuple[str, Translation]], replacing: bool = False
    ) -> None: ...
    def retranslatable(
        self, routes: Mapping[str, str], after: str, limit: int
    ) -> list[PendingArticle]: ...
    def count_retranslatable(self, routes: Mapping[str, str]) -> dict[tuple[str, str], int]: ...
    def check_canaries(self, sources: Mapping[str, Source], now: datetime) -> list[CanaryCheck]: ...
    def describe(self) -> tuple[str, bool]: ...


class DuckDBWarehouse:
    """The warehouse the settings name (core.settings): the DuckDB file (default) or a DuckLake.

    On the file each operation holds the write connection briefly; on DuckLake each write
    operation is one transaction, run again whole after a conflict with another worker.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path

    def holding(self) -> AbstractContextManager[None]:
        """A block in which this process keeps its write connection between operations
        (store.holding): a stream's chunks skip a checkpoint each; others waiting are let in."""
        return store.holding(self.path)

    def register_sources(self, sources: Sequence[Source]) -> None:
        store.write(lambda conn: store.register_sources(conn, sources), self.path)

    def source_state(self, source_id: str) -> SourceState:
        """Cursor and listing validators a daily run starts from."""
        with store.connect(self.path) as conn:
            return state.read(conn, source_id)

    def record_listings(
        self, run: RunKey, attempts: Sequence[FetchAttempt], links: Sequence[Link], now: datetime
    ) -> int:
        return store.write(
            lambda conn: loads.record_listings(conn, run, attempts, links, now), self.path
        )

    def remember_listings(
        self, source_id: str, attempts: Sequence[FetchAttempt], links: Sequence[Link]
    ) -> None:
        """A daily run's listing validators and cursor, once its links are in the frontier."""

        def operation(conn: duckdb.DuckDBPyConnection) -> None:
            state.save_validators(conn, attempts)
            state.advance_cursor(conn, source_id, links)

        store.write(operation, self.path)

    def claim(
        self,
        source_id: str,
        owner: str,
        limit: int,
        now: datetime,
        run_started: datetime,
        window: tuple[date | None, date | None] = (None, None),
        refetch: Refetch | None = None,
    ) -> list[Claimed]:
        return store.write(
            lambda conn: frontier.claim(
                conn, source_id, owner, limit, now, run_started, window, refetch
            ),
            self.path,
        )

    def commit_chunk(
        self,
        run: RunKey,
        results: Sequence[UrlResult],
        policy: Callable[[str], Revisit],
        now: datetime,
        packed: Mapping[str, Body] | None = None,
    ) -> LoadResult:
        """The chunk's load, then reposts, search index and stories for what it added or revised.

        packed: the chunk's bodies packed for the archive, by URL (see loads.commit_chunk)."""

        def operation(conn: duckdb.DuckDBPyConnection) -> LoadResult:
            loaded = loads.commit_chunk(conn, run, results, policy, now, packed)
            if loaded.inserted or loaded.duplicates or loaded.revised:
                # the only articles a chunk writes are its own: the hooks read those alone
                written = [r.article.url for r in results if r.article is not None]
                clusters.assign_clusters(conn)
                refresh_index(conn, written)
                refresh_stories(conn)
            return loaded

        return store.write(operation, self.path)

    def release(self, owner: str) -> None:
        store.write(lambda conn: frontier.release(conn, owner), self.path)

    def leased_elsewhere(self, source_id: str, owner: str, now: datetime) -> int:
        """Other live runs holding leases on a source: a stream waits for them to finish."""
        with store.connect(self.path) as conn:
            return frontier.leased_elsewhere(conn, source_id, owner, now)

    def cached(self, model: ModelInfo, texts: Sequence[str]) -> dict[str, str]:
        """The translation cache (TranslationCache.get)."""
        with store.connect(self.path) as conn:
            return translations.cached(conn, model, texts)

    def remember(self, model: ModelInfo, new: Mapping[str, str]) -> None:
        """The translation cache (TranslationCache.put)."""
        store.write(lambda conn: translations.remember(conn, model, new), self.path)

    def archived_urls(
        self,
        urls: list[str] | None = None,
        source_id: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[str]:
        with store.connect(self.path) as conn:
            return archive.archived_urls(conn, urls, source_id, since, until)

    def archived_pages(self, urls: Sequence[str]) -> list[ArchivedPage]:
        with store.connect(self.path) as conn:
            return archive.archived_pages(conn, urls)

    def replace_articles(self, articles: Sequence[Article]) -> int:
        """Fresh processing of stored articles; their clusters, index entries and stories follow."""

        def operation(conn: duckdb.DuckDBPyConnection) -> int:
            clusters.forget(conn, [a.url for a in articles])  # first: a crash stays consistent
            updated = loads.replace_articles(conn, articles)
            clusters.assign_clusters(conn)
            refresh_index(conn)
            refresh_stories(conn)
            return updated

        return store.write(operation, self.path)

    def run_report(self, run: RunKey) -> list[SourceReport]:
        with store.connect(self.path) as conn:
            return reports.run_report(conn, run.run_id, run.attempt)

    def articles_report(self, urls: list[str], seconds: float) -> list[SourceReport]:
        """Figures of a run that (re)processed stored articles instead of fetching."""
        with store.connect(self.path) as conn:
            return reports.articles_report(conn, urls, seconds)

    def run_outcomes(self, run: RunKey) -> dict[str, dict[str, int]]:
        with store.connect(self.path) as conn:
            return store.run_outcomes(conn, run.run_id, run.attempt)

    def record_run(
        self, record: store.RunRecord, figures: Sequence[SourceReport], state: str | None = None
    ) -> None:
        store.write(lambda conn: store.record_run(conn, record, figures, state), self.path)

    def open_run(
        self, record: store.RunRecord, sources: Sequence[Source], now: datetime
    ) -> list[str]:
        """Register the run's sources and record it as Running before it fetches; runs whose
        process died become Crashed. One session.

        So a run that dies (kill -9, a full disk that stops even its last write) never looks
        alive, and the next run says so. Returns the ids of the runs found dead.
        """

        def operation(conn: duckdb.DuckDBPyConnection) -> list[str]:
            store.register_sources(conn, sources)
            dead = store.close_abandoned_runs(conn, now)
            store.record_run(conn, record, [], "Running")
            return dead

        return store.write(operation, self.path)

    def close_run(
        self, record: store.RunRecord, decide: Callable[[list[SourceReport]], str]
    ) -> tuple[list[SourceReport], dict[str, dict[str, int]]]:
        """A run try's figures, recorded in `runs` in the state decide gives them, and its
        outcome counts per source: one session, where closing a run used to open three."""

        def operation(
            conn: duckdb.DuckDBPyConnection,
        ) -> tuple[list[SourceReport], dict[str, dict[str, int]]]:
            figures = reports.run_report(conn, record.run_id, record.attempt)
            store.record_run(conn, record, figures, decide(figures))
            return figures, store.run_outcomes(conn, record.run_id, record.attempt)

        return store.write(operation, self.path)

    def daily_volume(self, since: datetime) -> dict[str, list[tuple[date, int]]]:
        """New articles per UTC day of daily runs since a time, per source (volume alerts)."""
        with store.connect(self.path) as conn:
            return reports.daily_volume(conn, since)

    def known_urls(self, source_id: str) -> set[str]:
        """The source's URLs in the frontier (a backfill's later rounds list past them)."""
        with store.connect(self.path) as conn:
            return frontier.known_urls(conn, source_id)

    def window_coverage(
        self, source_id: str, since: date | None, until: date | None
    ) -> tuple[int, int]:
        """Articles of the source stored in a window, and their publication days."""
        with store.connect(self.path) as conn:
            return reports.window_coverage(conn, source_id, since, until)

    def count_pending(self, languages: Sequence[str]) -> int:
        """Articles waiting for a model of one of these languages."""
        with store.connect(self.path) as conn:
            return translations.count_pending(conn, languages)

    def pending_articles(
        self, languages: Sequence[str], after: str, limit: int
    ) -> list[PendingArticle]:
        """A page of pending articles, by URL after `after`."""
        with store.connect(self.path) as conn:
            return translations.pending_articles(conn, list(languages), after, limit)

    def still_pending(self, urls: Sequence[str]) -> list[PendingArticle]:
        """Those of these articles that still wait for a model."""
        with store.connect(self.path) as conn:
            return translations.still_pending(conn, urls)

    def save_translations(
        self, results: Sequence[tuple[str, Translation]], replacing: bool = False
    ) -> None:
        """Backlog translations (or, replacing, re-translations) and their paragraphs; what
        depends on the English follows at once: the search index and the story signatures."""

        def operation(conn: duckdb.DuckDBPyConnection) -> None:
            changed = translations.save_translations(conn, list(results), replacing)
            if changed:
                clusters.forget(conn, changed)  # first: a crash stays consistent
                clusters.assign_clusters(conn)
            refresh_index(conn)
            refresh_stories(conn)  # what was beyond the batch the save assigned, if anything

        store.write(operation, self.path)

    def retranslatable(
        self, routes: Mapping[str, str], after: str, limit: int
    ) -> list[PendingArticle]:
        """A page of translated articles whose language now uses another model (routes)."""
        with store.connect(self.path) as conn:
            return translations.retranslatable(conn, routes, after, limit)

    def count_retranslatable(self, routes: Mapping[str, str]) -> dict[tuple[str, str], int]:
        """Per (language, model that made them), the articles a re-translation would redo."""
        with store.connect(self.path) as conn:
            return translations.count_retranslatable(conn, routes)

    def check_canaries(self, sources: Mapping[str, Source], now: datetime) -> list[CanaryCheck]:
        """Each source's canary: its latest good article extracted again (warehouse.health)."""
        return store.write(lambda conn: health.check_canaries(conn, sources, now), self.path)

    def describe(self) -> tuple[str, bool]:
        """Open the warehouse once (a writer: the schema is brought up to date) and say where
        it is, and whether other machines can share it (a DuckLake)."""
        shared = store.backend(self.path)
        with store.connect(self.path):
            pass
        if shared is not None:
            return f"DuckLake {shared.catalog}", True
        return f"the DuckDB file {self.path or store.db_path()}", False


class WarehouseCache:
    """A warehouse's translation cache in the shape translate_articles takes."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def get(self, model: ModelInfo, texts: Sequence[str]) -> dict[str, str]:
        return self.warehouse.cached(model, texts)

    def put(self, model: ModelInfo, new: Mapping[str, str]) -> None:
        self.warehouse.remember(model, new)
