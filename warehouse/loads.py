"""Writes of the pipeline: listings and chunks, each in one transaction with its frontier rows.

A chunk's bodies go to the raw archive, its new articles (and their paragraphs) to articles,
every attempt to fetch_log, and every URL's new state to the frontier, together: a crash
loses at most the chunk in flight, and what was committed is never fetched again for nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from difflib import SequenceMatcher

import duckdb
import pyarrow as pa

from connectors.config import Revisit
from connectors.records import FetchAttempt, FrontierState, Link, Outcome, TranslationStatus
from processing.dedup import canonical_url
from processing.records import Article, UrlResult
from warehouse import frontier, translations
from warehouse.archive import Body, pack, store_bodies
from warehouse.revisit import next_due, recheck_due
from warehouse.sql import registered, transaction, url_table, wide_rows
from warehouse.stories import queue_stories


@dataclass(frozen=True)
class RunKey:
    """A flow run and which try of it (a retry from the UI keeps the id, not the figures)."""

    run_id: str
    attempt: int = 1


@dataclass(frozen=True)
class LoadResult:
    """What one chunk changed: articles new to the warehouse, those it already had, and stored
    ones whose text changed (revisions)."""

    inserted: int  # new stories
    duplicates: int  # same canonical URL or same normalized text as a stored article
    logged: int
    revised: int = 0


def record_listings(
    conn: duckdb.DuckDBPyConnection,
    run: RunKey,
    attempts: Sequence[FetchAttempt],
    links: Sequence[Link],
    now: datetime,
) -> int:
    """A source's listing requests (archived, logged) and the URLs they named, in one go.

    Returns how many URLs were new to the frontier; the known ones are not logged again.
    """
    with transaction(conn):
        keys = _archive(conn, attempts)
        _log(conn, run, attempts, keys)
        return frontier.record_listed(conn, links, now)


def commit_chunk(
    conn: duckdb.DuckDBPyConnection,
    run: RunKey,
    results: Sequence[UrlResult],
    policy: Callable[[str], Revisit],
    now: datetime,
    packed: Mapping[str, Body] | None = None,
) -> LoadResult:
    """Load one chunk of fetched URLs atomically, and set each URL's frontier state.

    A new article is logged "stored"; a new URL whose normalized text is stored under another
    URL is kept with duplicate_of set. A stored article fetched again at its own URL (a
    re-check) with changed title or text is "revised": both versions go to article_revisions
    and the row shows the new one; unchanged, it is kept as it was ("duplicate", or
    "not_modified" for a 304). A listed URL that led to an article under another URL (a
    redirect, its canonical on the same site) becomes an alias of it. The editions a page links
    to join its edition group. policy(source_id) is the source's revisit policy. If anything
    fails, nothing of the chunk is written. packed: bodies already packed for the archive, by
    URL, whose attempts let their text go (the pipeline packs a chunk's bodies once fetched).
    """
    packed = packed or {}
    with transaction(conn):
        keys = _archive(conn, [r.attempt for r in results], packed)
        candidates = _own_first(results)
        stored = _stored(conn, [a.url for a in candidates] + [r.attempt.url for r in results])
        duplicate_of = _text_duplicates(conn, [a for a in candidates if a.url not in stored])
        fresh: dict[str, Article] = {}
        for article in candidates:
            if article.url not in stored:
                fresh.setdefault(article.url, article)
        body = {r.article.url: keys.get(r.attempt.url) for r in results if r.article}
        revised = _revised(results, stored, body)
        rows = pa.Table.from_pylist(
            [_article_row(a, body[a.url], duplicate_of.get(a.url)) for a in fresh.values()],
            _ARTICLE_SCHEMA,
        )
        with registered(conn, article_rows=rows):
            conn.execute("INSERT INTO articles BY NAME SELECT * FROM article_rows")
        queue_stories(conn, fresh)
        originals = [a for a in fresh.values() if a.url not in duplicate_of]
        translations.save_paragraphs(conn, [(a.url, a.translation) for a in originals])
        _save_revisions(conn, revised, stored, body)
        _link_editions(conn, [*originals, *revised.values()])
        claimed: set[str] = set()
        logged, states = [], []
        for result in results:
            attempt, article = result.attempt, result.article
            if attempt.outcome == Outcome.OK and article is not None:
                first = article.url not in claimed and fresh.get(article.url, article) is article
                if first:
                    claimed.add(article.url)
                if first and article.url in revised:
                    attempt = replace(attempt, outcome=Outcome.REVISED)
                elif first and article.url in fresh and article.url not in duplicate_of:
                    attempt = replace(attempt, outcome=Outcome.STORED)
                else:
                    reason = _duplicate_reason(article.url, duplicate_of)
                    attempt = replace(attempt, outcome=Outcome.DUPLICATE, error=reason)
            logged.append(attempt)
            states += _states(result, attempt, duplicate_of, stored, policy, now)
        _log(conn, run, logged, keys, packed)
        frontier.write_states(conn, states)
    counts = Counter(a.outcome for a in logged)
    return LoadResult(
        counts[Outcome.STORED], counts[Outcome.DUPLICATE], len(logged), counts[Outcome.REVISED]
    )


def replace_articles(conn: duckdb.DuckDBPyConnection, articles: Sequence[Article]) -> int:
    """Overwrite stored articles with a fresh processing of the same page, in one transaction.

    Only URLs already stored are touched (and their paragraphs rewritten); their archive
    reference and duplicate link are kept, and the editions their pages link to are linked.
    """
    with transaction(conn):
        done = _overwrite(conn, articles, {})
        _link_editions(conn, [a for a in articles if a.url in done])
    return len(done)


def _overwrite(
    conn: duckdb.DuckDBPyConnection, articles: Sequence[Article], bodies: dict[str, str | None]
) -> set[str]:
    """Update stored articles (and their paragraphs) in the caller's transaction; a body given
    in `bodies` becomes the article's archive reference. Returns the URLs updated."""
    rows = pa.Table.from_pylist(
        [_article_row(a, bodies.get(a.url), None) for a in articles], _ARTICLE_SCHEMA
    )
    with registered(conn, fresh=rows):
        # the keys first: DuckLake has no UPDATE ... RETURNING
        found = conn.execute("SELECT url FROM articles JOIN fresh USING (url)").fetchall()
        done = {url for (url,) in found}
        conn.execute(
            "UPDATE articles a SET title = f.title, text = f.text, language = f.language, "
            "author = f.author, content_hash = f.content_hash, "
            f"published_at = CASE WHEN {_KEEP_DATE} THEN a.published_at ELSE f.published_at END, "
            f"published_source = CASE WHEN {_KEEP_DATE} THEN a.published_source "
            "ELSE f.published_source END, "
            f"published_precision = CASE WHEN {_KEEP_DATE} THEN a.published_precision "
            "ELSE f.published_precision END, "
            f"published_evidence = CASE WHEN {_KEEP_DATE} THEN a.published_evidence "
            "ELSE f.published_evidence END, authors = f.authors, paywalled = f.paywalled, "
            "text_source = f.text_source, "
            "charset = coalesce(f.charset, a.charset), "
            "charset_source = coalesce(f.charset_source, a.charset_source), "
            "attribution = f.attribution, attribution_url = f.attribution_url, "
            "disclaimer = f.disclaimer, "
            "title_en = f.title_en, text_en = f.text_en, "
            "translation_status = f.translation_status, "
            "translation_model = f.translation_model, translation_error = f.translation_error, "
            "raw_sha256 = coalesce(f.raw_sha256, a.raw_sha256) "
            "FROM fresh f WHERE a.url = f.url"
        )
    translations.save_paragraphs(conn, [(a.url, a.translation) for a in articles if a.url in done])
    queue_stories(conn, done)
    return done


@dataclass(frozen=True)
class _Stored:
    """What the warehouse holds of an article that a chunk fetched again."""

    source_id: str
    title: str | None
    text: str
    published_at: datetime | None
    fetched_at: datetime
    raw_sha256: str | None
    duplicate_of: str | None
    revisions: int  # versions in article_revisions (0: never edited)


def _own_first(results: Sequence[UrlResult]) -> list[Article]:
    """The chunk's articles, those fetched from their own URL before those another URL claimed
    (a canonical): a claim never wins over the page itself."""
    articles = [r for r in results if r.article and r.attempt.outcome == Outcome.OK]
    articles.sort(key=lambda r: r.article is not None and r.article.url != r.attempt.url)
    return [r.article for r in articles if r.article is not None]


def _revised(
    results: Sequence[UrlResult], stored: dict[str, _Stored], bodies: dict[str, str | None]
) -> dict[str, Article]:
    """Stored articles fetched again at their own URL whose title or text changed.

    The same body as stored is no edit, whatever today's extraction makes of it (that is
    reprocess's job).
    """
    revised: dict[str, Article] = {}
    for result in results:
        article = result.article
        if article is None or result.attempt.outcome != Outcome.OK:
            continue
        before = stored.get(article.url)
        if before is None or before.duplicate_of or result.attempt.url != article.url:
            continue
        if bodies.get(article.url) == before.raw_sha256:
            continue
        if (article.title, article.text) != (before.title, before.text):
            revised.setdefault(article.url, article)
    return revised


def _save_revisions(
    conn: duckdb.DuckDBPyConnection,
    revised: dict[str, Article],
    stored: dict[str, _Stored],
    bodies: dict[str, str | None],
) -> None:
    """Keep each revised article's new version (and, on its first edit, the one first stored),
    then show the new one in its row: an edit is never an overwrite that leaves no trace."""
    if not revised:
        return
    rows = []
    for url, article in revised.items():
        before = stored[url]
        if before.revisions == 0:
            first = (before.fetched_at, before.title, before.text, before.raw_sha256)
            rows.append(_revision_row(url, before.source_id, 1, first, None))
        number = max(before.revisions, 1) + 1
        latest = (article.fetched_at, article.title, article.text, bodies.get(url))
        rows.append(_revision_row(url, article.source_id, number, latest, before.text))
    with registered(conn, revisions=pa.Table.from_pylist(rows, _REVISION_SCHEMA)):
        conn.execute("INSERT INTO article_revisions BY NAME SELECT * FROM revisions")
    _overwrite(conn, list(revised.values()), bodies)


def _revision_row(
    url: str,
    source_id: str,
    number: int,
    version: tuple[datetime, str | None, str, str | None],
    previous: str | None,
) -> dict[str, object]:
    """One article_revisions row: version is (fetched_at, title, text, raw_sha256)."""
    fetched_at, title, text, raw_sha256 = version
    changed = _chars_changed(previous, text) if previous is not None else None
    total = len(previous or "") + len(text)
    return {
        "url": url,
        "source_id": source_id,
        "revision": number,
        "fetched_at": _utc(fetched_at),
        "title": title,
        "text": text,
        "sha256": _sha256(text),
        "previous_sha256": _sha256(previous) if previous is not None else None,
        "chars_changed": changed,
        "similarity": None if changed is None else (1 - changed / total if total else 1.0),
        "raw_sha256": raw_sha256,
    }


MAX_DIFF_CHARS = 20_000  # a changed stretch longer than this counts as rewritten whole


def _chars_changed(old: str, new: str) -> int:
    """Characters deleted plus inserted from old to new: paragraphs are aligned first, then the
    characters of the changed ones compared (difflib), so the cost follows what changed."""
    before, after = old.split("\n"), new.split("\n")
    changed = 0
    lines = SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in lines.get_opcodes():
        if tag == "equal":
            continue
        x, y = "\n".join(before[i1:i2]), "\n".join(after[j1:j2])
        if not x or not y or len(x) + len(y) > MAX_DIFF_CHARS:
            changed += len(x) + len(y)
            continue
        chars = SequenceMatcher(None, x, y, autojunk=False)
        changed += len(x) + len(y) - 2 * sum(m.size for m in chars.get_matching_blocks())
    return changed


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _link_editions(conn: duckdb.DuckDBPyConnection, articles: Sequence[Article]) -> None:
    """Store the editions these articles' pages link to, and put linked URLs in one group.

    Groups are unions: a link between two groups merges them, and a group is named by its
    smallest URL, so its name is the same whichever edition came first, in whichever run.
    """
    linked = {a.url: a for a in articles if a.editions}
    if not linked:
        return
    declared = [
        {
            "url": a.url,
            "source_id": a.source_id,
            "language": e.language,
            "edition_url": e.url,
            "seen_at": _utc(a.fetched_at),
        }
        for a in linked.values()
        for e in a.editions
    ]
    urls = sorted({a.url for a in linked.values()} | {d["edition_url"] for d in declared})
    touched = url_table(urls)
    links = pa.Table.from_pylist(declared, _EDITION_SCHEMA)
    with registered(conn, declared=links, touched=touched):
        conn.execute("DELETE FROM article_editions WHERE url IN (SELECT url FROM declared)")
        conn.execute("INSERT INTO article_editions BY NAME SELECT * FROM declared")
        members = conn.execute(
            "SELECT url, edition_group FROM edition_groups WHERE edition_group IN "
            "(SELECT g.edition_group FROM edition_groups g JOIN touched USING (url))"
        ).fetchall()
    groups = _components([*members, *((d["url"], d["edition_url"]) for d in declared)])
    rows = pa.table(
        {
            "url": pa.array([url for group in groups for url in group], pa.string()),
            "edition_group": pa.array([min(group) for group in groups for _ in group], pa.string()),
        }
    )
    with registered(conn, new_groups=rows):
        conn.execute("DELETE FROM edition_groups WHERE url IN (SELECT url FROM new_groups)")
        conn.execute("INSERT INTO edition_groups BY NAME SELECT * FROM new_groups")
    queue_stories(conn, rows["url"].to_pylist())  # their English text may be another's now


def _components(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The connected sets of URLs that these links join (union-find)."""
    parent: dict[str, str] = {}

    def root(url: str) -> str:
        parent.setdefault(url, url)
        while parent[url] != url:
            parent[url] = parent[parent[url]]
            url = parent[url]
        return url

    for a, b in edges:
        parent[root(a)] = root(b)
    groups: dict[str, list[str]] = defaultdict(list)
    for url in list(parent):
        groups[root(url)].append(url)
    return list(groups.values())


def _states(
    result: UrlResult,
    logged: FetchAttempt,
    duplicate_of: dict[str, str],
    stored: dict[str, _Stored],
    policy: Callable[[str], Revisit],
    now: datetime,
) -> list[dict[str, object]]:
    """The frontier rows an attempt leaves: the listed URL's, and its article's where new.

    A stored article stays stored whatever its re-check found (a 304, a failure, an edit),
    and is due again while it is recent (revisit.recheck_due).
    """
    article = result.article
    listed = logged.url
    kept = stored.get(listed)
    done = (Outcome.STORED, Outcome.DUPLICATE, Outcome.REVISED)
    if kept is not None and kept.duplicate_of is None and logged.outcome not in done:
        return [
            {
                "url": listed,
                "source_id": logged.source_id,
                "state": str(Outcome.STORED),
                "resolved_url": listed,
                "first_seen": now,
                "last_fetched": now,
                "attempts": 0,
                "last_status": logged.http_status,
                "last_error": logged.error,
                "next_due": recheck_due(kept.published_at, now, policy(logged.source_id)),
                **_validators(logged),
            }
        ]
    failed = not (logged.outcome in done or logged.ok)
    failures = result.failures + 1 if failed and logged.outcome != Outcome.OUTSIDE_WINDOW else 0
    base = {
        "source_id": logged.source_id,
        "first_seen": now,
        "last_fetched": now,
        "attempts": failures,
        "last_status": logged.http_status,
        "last_error": logged.error,
    }
    if article is None or logged.outcome not in done:
        published = article.published_at if article else None
        due = next_due(logged, failures, now, policy(logged.source_id))
        return [
            {
                **base,
                "url": listed,
                "state": str(logged.outcome),
                "next_due": due,
                "listed_published_at": _utc(published),
            }
        ]
    target = duplicate_of.get(article.url, article.url)
    own = Outcome.DUPLICATE if article.url in duplicate_of else Outcome.STORED
    row = {**base, "next_due": None, "listed_published_at": _utc(article.published_at)}
    itself = {**row, "url": article.url, "state": str(own), "resolved_url": target}
    if own == Outcome.STORED:
        itself["next_due"] = recheck_due(article.published_at, now, policy(logged.source_id))
        address = result.attempt.final_url or listed
        if canonical_url(address) == article.url:  # what a re-check of its URL will ask about
            itself.update(_validators(logged))
    if article.url == listed:
        return [{**itself, "via": "text" if own == Outcome.DUPLICATE else None}]
    via = "text" if own == Outcome.DUPLICATE else _via(result.attempt, article.url)
    state = Outcome.DUPLICATE if own == Outcome.DUPLICATE else FrontierState.ALIAS
    return [{**row, "url": listed, "state": str(state), "resolved_url": target, "via": via}, itself]


def _validators(attempt: FetchAttempt) -> dict[str, str | None]:
    """The frontier columns of what the answer identified the page by (conditional GET)."""
    return {"etag": attempt.validators.etag, "last_modified": attempt.validators.last_modified}


def _via(attempt: FetchAttempt, article_url: str) -> str:
    """How a listed URL led to an article stored under another URL."""
    if attempt.final_url and canonical_url(attempt.final_url) == article_url:
        return "redirect"
    return "canonical"


def _duplicate_reason(url: str, duplicate_of: dict[str, str]) -> str:
    if url in duplicate_of:
        return f"same text as {duplicate_of[url]}"
    return f"already stored as {url}"


def _stored(conn: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> dict[str, _Stored]:
    """Which of these URLs are already stored as articles, with what a re-check compares.

    The rows are chosen on their URL first (wide_rows): a join that names the texts made
    DuckDB read every article's text, 35 ms a chunk at 20k articles, for the few found."""
    candidates = url_table(sorted(set(urls)))
    with registered(conn, candidates=candidates):
        rows = wide_rows(
            conn,
            "articles",
            "SELECT rowid FROM articles WHERE url IN (SELECT url FROM candidates)",
            "url, source_id, title, text, published_at, fetched_at, raw_sha256, duplicate_of, "
            "(SELECT count(*) FROM article_revisions r WHERE r.url = articles.url)",
        )
    return {url: _Stored(*rest) for url, *rest in rows}


def _text_duplicates(conn: duckdb.DuckDBPyConnection, articles: list[Article]) -> dict[str, str]:
    """New URLs whose normalized text is stored (or earlier in the chunk) under another URL.

    Returns {url: url of the first article with that text}.
    """
    unique = sorted({a.content_hash for a in articles})
    hashes = pa.table({"content_hash": pa.array(unique, pa.string())})
    with registered(conn, hashes=hashes):
        first = dict(
            conn.execute(
                "SELECT a.content_hash, min(a.url) FROM articles a "
                "JOIN hashes USING (content_hash) WHERE a.duplicate_of IS NULL GROUP BY 1"
            ).fetchall()
        )
    duplicates: dict[str, str] = {}
    for article in articles:
        original = first.setdefault(article.content_hash, article.url)
        if original != article.url:
            duplicates[article.url] = original
    return duplicates


def _archive(
    conn: duckdb.DuckDBPyConnection,
    attempts: Sequence[FetchAttempt],
    packed: Mapping[str, Body] | None = None,
) -> dict[str, str]:
    """Archive every fetched body (zstd, once per SHA-256); returns {url: sha256}.

    The new ones go to disk (one pack, synced) before their rows join the caller's transaction:
    an orphan pack after a crash costs space (maintenance sweeps it), never consistency.
    """
    keys: dict[str, str] = {}
    bodies: dict[str, Body] = {}
    for attempt in attempts:
        if (body := pack_attempt(attempt) or (packed or {}).get(attempt.url)) is None:
            continue
        keys[attempt.url] = body.sha256
        bodies.setdefault(body.sha256, body)
    store_bodies(conn, bodies.values())
    return keys


_ARTICLE_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("source_id", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("language", pa.string()),
        ("author", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("content_hash", pa.string()),
        ("title_en", pa.string()),
        ("text_en", pa.string()),
        ("translation_status", pa.string()),
        ("translation_model", pa.string()),
        ("translation_error", pa.string()),
        ("raw_sha256", pa.string()),
        ("duplicate_of", pa.string()),
        ("declared_canonical", pa.string()),
        ("attribution", pa.string()),
        ("attribution_url", pa.string()),
        ("disclaimer", pa.string()),
        ("published_source", pa.string()),
        ("charset", pa.string()),
        ("charset_source", pa.string()),
        ("authors", pa.list_(pa.string())),
        ("published_precision", pa.string()),
        ("published_evidence", pa.string()),
        ("paywalled", pa.bool_()),
        ("text_source", pa.string()),
    ]
)
# A page read again (reprocess, a revisit) keeps its stored date and where it came from when
# the new reading found nothing better: no date of its own where its listing gave one (the
# listing is not read again with it), or only the date the frontier remembered for it.
_KEEP_DATE = (
    "(f.published_source IN ('url', 'none') "
    "AND a.published_source IN ('feed', 'sitemap', 'listing')) "
    "OR (f.published_source IN ('feed', 'sitemap', 'listing') "
    "AND f.published_at = a.published_at)"
)
_REVISION_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("source_id", pa.string()),
        ("revision", pa.int32()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("title", pa.string()),
        ("text", pa.string()),
        ("sha256", pa.string()),
        ("previous_sha256", pa.string()),
        ("chars_changed", pa.int32()),
        ("similarity", pa.float64()),
        ("raw_sha256", pa.string()),
    ]
)
_EDITION_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("source_id", pa.string()),
        ("language", pa.string()),
        ("edition_url", pa.string()),
        ("seen_at", pa.timestamp("us", tz="UTC")),
    ]
)
_LOG_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("run_id", pa.string()),
        ("attempt", pa.int32()),
        ("source_id", pa.string()),
        ("url", pa.string()),
        ("outcome", pa.string()),
        ("http_status", pa.int32()),
        ("error", pa.string()),
        ("attempted_at", pa.timestamp("us", tz="UTC")),
        ("raw_sha256", pa.string()),
        ("kind", pa.string()),
    ]
)


def pack_attempt(attempt: FetchAttempt) -> Body | None:
    """A fetched body as the archive keeps it (None: the attempt has no text)."""
    if attempt.text is None:
        return None
    return pack(attempt.text, attempt.content_type, _utc(attempt.attempted_at))


def _log(
    conn: duckdb.DuckDBPyConnection,
    run: RunKey,
    attempts: Sequence[FetchAttempt],
    keys: dict[str, str],
    packed: Mapping[str, Body] | None = None,
) -> None:
    packed = packed or {}
    rows = [
        {
            "id": uuid.uuid4().int >> 65,  # no sequence: writers on DuckLake share no counter
            "run_id": run.run_id,
            "attempt": run.attempt,
            "source_id": a.source_id,
            "url": a.url,
            "outcome": str(a.outcome),
            "http_status": a.http_status,
            "error": a.error,
            "attempted_at": _utc(a.attempted_at),
            "raw_sha256": keys.get(a.url) if a.text is not None or a.url in packed else None,
            "kind": str(a.kind),
        }
        for a in attempts
    ]
    with registered(conn, log_rows=pa.Table.from_pylist(rows, _LOG_SCHEMA)):
        conn.execute("INSERT INTO fetch_log BY NAME SELECT * FROM log_rows")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _article_row(
    article: Article, raw_sha256: str | None, duplicate_of: str | None
) -> dict[str, object]:
    translation = article.translation
    return {
        "url": article.url,
        "source_id": article.source_id,
        "title": article.title,
        "text": article.text,
        "language": article.language,
        "author": article.author,
        "published_at": _utc(article.published_at),
        "fetched_at": _utc(article.fetched_at),
        "content_hash": article.content_hash,
        "title_en": translation.title_en if translation else None,
        "text_en": translation.text_en if translation else None,
        "translation_status": str(
            translation.status if translation else TranslationStatus.PENDING_MODEL
        ),
        "translation_model": translation.model if translation else None,
        "translation_error": translation.error if translation else None,
        "raw_sha256": raw_sha256,
        "duplicate_of": duplicate_of,
        "declared_canonical": article.declared_canonical,
        "attribution": article.attribution,
        "attribution_url": article.attribution_url,
        "disclaimer": str(article.disclaimer) if article.disclaimer else None,
        "published_source": str(article.published_source),
        "charset": article.charset.name if article.charset else None,
        "charset_source": str(article.charset.source) if article.charset else None,
        "authors": list(article.authors),
        "published_precision": str(article.published_precision)
        if article.published_precision
        else None,
        "published_evidence": article.published_evidence,
        "paywalled": article.paywalled,
        "text_source": article.text_source,
    }
