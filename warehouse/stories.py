"""Stories in the warehouse: assign every article whose English text is new or changed.

Every path that stores or changes an article's English text (ingest, revision, reprocess, an
edition link, the translation backlog, a re-translation) queues it with queue_stories in its
transaction and calls refresh_stories (or assign_stories) after; assignment takes its work
from the queue, keeping only the articles whose fingerprint no longer matches their features,
and reads only the open stories whose span reaches their time window, so neither finding the
work nor assigning it grows with the warehouse. A feature version the warehouse has not been
swept for (an upgrade, or the first run) queues every article whose fingerprint changed, once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from processing.stories import (
    DECAY_DAYS,
    FEATURE_VERSION,
    THRESHOLD,
    THRESHOLD_ORIGINAL,
    WINDOW,
    Assigner,
    Assignment,
    Story,
    StoryText,
    read,
    similarity,
    vectorize,
)
from warehouse.sql import registered, transaction, url_table


def _english(among: str, articles: str = "articles") -> str:
    """SQL: each original article whose URL the relation `among` holds, with its English title
    and text as articles_en reads them (the publisher's English edition, else its own English,
    else the original), whether they are English, its event time, and the fingerprint of all
    that depends on. The view's other joins (clusters, sources) are left out: they read the
    whole warehouse, this only the wanted articles' edition groups.

    articles: the relation of article rows to read, the table or a subset of it that holds
    the wanted articles and their editions (_articles_of)."""
    return f"""
    WITH wanted AS (SELECT DISTINCT url FROM {among}),
    groups AS (SELECT g.url, g.edition_group FROM edition_groups g JOIN wanted USING (url)),
    english AS (
        SELECT g.edition_group, arg_min(a.content_hash, a.url) AS english_hash,
               arg_min(a.title, a.url) AS title, arg_min(a.text, a.url) AS text
        FROM edition_groups g JOIN {articles} a ON a.url = g.url
        WHERE a.language = 'en' AND a.duplicate_of IS NULL
          AND g.edition_group IN (SELECT edition_group FROM groups)
        GROUP BY g.edition_group
    )
    SELECT a.url, hash(a.url, a.content_hash, a.title, a.title_en, length(a.text_en),
                       a.translation_status, a.translation_model, a.published_at, a.fetched_at,
                       g.edition_group, e.english_hash, {FEATURE_VERSION}) AS fingerprint,
           CASE WHEN a.language <> 'en' AND e.edition_group IS NOT NULL THEN e.title
                ELSE coalesce(a.title_en, a.title) END AS title,
           CASE WHEN a.language <> 'en' AND e.edition_group IS NOT NULL THEN e.text
                ELSE coalesce(a.text_en, a.text) END AS text,
           a.language = 'en' OR e.edition_group IS NOT NULL OR a.text_en IS NOT NULL AS english,
           a.language,
           CASE WHEN a.published_at IS NOT NULL AND a.published_at <= a.fetched_at + INTERVAL 1 DAY
                THEN a.published_at ELSE a.fetched_at END AS event_at,
           g.edition_group
    FROM {articles} a
    JOIN wanted USING (url)
    LEFT JOIN groups g ON g.url = a.url
    LEFT JOIN english e ON e.edition_group = g.edition_group
    WHERE a.duplicate_of IS NULL
    """


_FEATURE_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("story_id", pa.int64()),
        ("fingerprint", pa.uint64()),
        ("terms", pa.list_(pa.string())),
        ("weights", pa.list_(pa.float64())),
        ("event_at", pa.timestamp("us", tz="UTC")),
        ("english", pa.bool_()),
        ("score", pa.float64()),
        ("centrality", pa.float64()),
        ("assigned_at", pa.timestamp("us", tz="UTC")),
        ("feature_version", pa.int16()),
    ]
)
_STATE_SCHEMA = pa.schema(
    [
        ("story_id", pa.int64()),
        ("terms", pa.list_(pa.string())),
        ("weights", pa.list_(pa.float64())),
        ("first_at", pa.timestamp("us", tz="UTC")),
        ("last_at", pa.timestamp("us", tz="UTC")),
        ("articles", pa.int32()),
    ]
)
_DOCUMENTS = ""  # the story_terms row that counts the articles
BATCH = 2000  # articles assigned in one transaction


@dataclass(frozen=True)
class Tuning:
    """Scores from which an article joins a story, and how fast a story's pull fades with time.

    bench/stories.py tunes them on its dev split; the defaults are its choice.
    """

    english: float = THRESHOLD
    original: float = THRESHOLD_ORIGINAL
    decay_days: float = DECAY_DAYS


@dataclass(frozen=True)
class _Pending:
    text: StoryText
    fingerprint: int
    english: bool
    assigned: bool  # it has features (from other inputs) to take out of its story first


def refresh_stories(
    conn: duckdb.DuckDBPyConnection, tuning: Tuning | None = None, batch: int = BATCH
) -> int:
    """Assign every article whose story inputs changed (or that has none); returns how many.

    In time order, `batch` articles a transaction: the first load after an upgrade (every old
    article new to the method) holds no transaction long, and one interrupted goes on from the
    last batch committed.
    """
    done = 0
    while True:
        with transaction(conn):
            assigned = assign_stories(conn, tuning, batch)
        done += assigned
        if assigned < batch:
            return done


def assign_stories(
    conn: duckdb.DuckDBPyConnection, tuning: Tuning | None = None, batch: int = BATCH
) -> int:
    """The earliest `batch` articles of refresh_stories' work, in the caller's transaction (a
    path that writes English text calls it; refresh_stories after it takes any rest)."""
    _sweep(conn)
    pending = _pending(conn, batch)
    urls = [p.text.url for p in pending]
    if pending:
        left = _leave(conn, [p.text.url for p in pending if p.assigned])
        _assign(conn, pending, tuning, more=len(pending) == batch)
        _alias_vanished(conn, left)
    _copies(conn, urls)
    if len(pending) < batch:  # all the queue's work is done: what is left needs none
        conn.execute("DELETE FROM story_queue")  # (what this transaction sees of it)
    else:
        with registered(conn, done=url_table(urls)):
            conn.execute("DELETE FROM story_queue WHERE url IN (SELECT url FROM done)")
    return len(pending)


def queue_stories(conn: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> None:
    """Queue these articles for (re)assignment, with the other editions of their edition
    groups (an English edition's text is theirs too); in the caller's transaction."""
    table = url_table(sorted(set(urls)))
    if not table.num_rows:
        return
    with registered(conn, queued_urls=table):
        conn.execute(
            "INSERT INTO story_queue SELECT url, now() FROM ("
            "SELECT url FROM queued_urls UNION SELECT g.url FROM edition_groups g "
            "WHERE g.edition_group IN "
            "(SELECT edition_group FROM edition_groups JOIN queued_urls USING (url)))"
        )


def _sweep(conn: duckdb.DuckDBPyConnection) -> None:
    """Once per feature version (the first run after an upgrade): queue every article whose
    fingerprint matches no features; it scans the warehouse, so only then."""
    swept = conn.execute("SELECT max(feature_version) FROM story_swept").fetchone()
    if swept is not None and swept[0] == FEATURE_VERSION:
        return
    conn.execute(
        f"INSERT INTO story_queue SELECT c.url, now() FROM ({_english('articles')}) c "
        "ANTI JOIN story_features f ON f.fingerprint = c.fingerprint"
    )
    conn.execute("DELETE FROM story_swept")
    conn.execute("INSERT INTO story_swept VALUES ($version)", {"version": FEATURE_VERSION})


_ARTICLE_COLUMNS = (
    "url, content_hash, title, title_en, text, text_en, translation_status, translation_model, "
    "published_at, fetched_at, language, duplicate_of"
)


def _articles_of(conn: duckdb.DuckDBPyConnection, among: str) -> pa.Table:
    """The article rows that _english reads for the URLs of the relation `among`: theirs and
    their edition groups' (for an English edition). Chosen on the URL column, then read by
    rowid (wide_rows): a join with the articles would read every article's texts."""
    ids = conn.execute(
        f"""
        WITH wanted AS (SELECT DISTINCT url FROM {among}),
        urls AS (
            SELECT url FROM wanted
            UNION SELECT g.url FROM edition_groups g WHERE g.edition_group IN
                (SELECT edition_group FROM edition_groups JOIN wanted USING (url))
        )
        SELECT rowid AS id FROM articles WHERE url IN (SELECT url FROM urls)
        """
    ).to_arrow_table()
    with registered(conn, article_ids=ids):
        return conn.execute(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE rowid IN (SELECT id FROM article_ids)"
        ).to_arrow_table()


def _pending(conn: duckdb.DuckDBPyConnection, batch: int) -> list[_Pending]:
    """The earliest `batch` queued articles with no features, or features from other inputs,
    with their English text."""
    queued = conn.execute("SELECT count(*) FROM story_queue").fetchone()
    if queued is not None and queued[0] > batch:  # a sweep's, or a backlog's: read in place
        rows = _pending_rows(conn, batch, "articles")
    else:  # a chunk's: its articles' rows alone, texts and all
        with registered(conn, queued_articles=_articles_of(conn, "story_queue")):
            rows = _pending_rows(conn, batch, "queued_articles")
    return [
        _Pending(
            StoryText(url, title, text or "", "en" if english else language, _utc(at), group),
            fingerprint,
            english,
            assigned,
        )
        for url, title, text, english, language, at, group, fingerprint, assigned in rows
    ]


def _pending_rows(conn: duckdb.DuckDBPyConnection, batch: int, articles: str) -> list[tuple]:
    return conn.execute(
        f"""
        WITH current AS ({_english("story_queue", articles)})
        SELECT c.url, c.title, c.text, c.english, c.language, c.event_at, c.edition_group,
               c.fingerprint, f.url IS NOT NULL AS assigned
        FROM current c
        -- the fingerprint hashes the URL too: an integer join finds the changed ones
        ANTI JOIN story_features same ON same.fingerprint = c.fingerprint
        LEFT JOIN story_features f ON f.url = c.url
        ORDER BY c.event_at, c.url
        LIMIT $batch
        """,
        {"batch": batch},
    ).fetchall()


def _leave(conn: duckdb.DuckDBPyConnection, urls: list[str]) -> dict[str, int]:
    """Take these articles out of their stories (features, term counts, centroids) first; the
    assignment that follows gives them their story ids again.

    Returns the story each of them was in.
    """
    if not urls:
        return {}
    with registered(conn, leaving=url_table(urls)):
        old = conn.execute(
            "SELECT f.story_id, f.terms, f.url FROM story_features f JOIN leaving USING (url)"
        ).fetchall()
        if not old:
            return {}
        conn.execute("DELETE FROM story_features WHERE url IN (SELECT url FROM leaving)")
    counts: Counter[str] = Counter({_DOCUMENTS: -len(old)})
    for _, old_terms, _ in old:
        counts.update({t: -1 for t in old_terms})
    _count_terms(conn, counts)
    _rebuild_states(conn, {story_id for story_id, _, _ in old})
    return {url: story_id for story_id, _, url in old}


def _alias_vanished(conn: duckdb.DuckDBPyConnection, left: dict[str, int]) -> None:
    """A story all of whose articles moved to another keeps its id, as an alias of that one."""
    if not left:
        return
    moved = pa.table(
        {
            "url": pa.array(list(left), pa.string()),
            "old_id": pa.array(list(left.values()), pa.int64()),
        }
    )
    with registered(conn, moved=moved):
        conn.execute(
            """
            INSERT INTO story_aliases
            SELECT m.old_id, arg_min(f.story_id, (f.event_at, f.url)), now()
            FROM moved m JOIN story_features f USING (url)
            WHERE m.old_id NOT IN (SELECT story_id FROM story_features)
              AND m.old_id NOT IN (SELECT alias_id FROM story_aliases)
            GROUP BY m.old_id
            HAVING arg_min(f.story_id, (f.event_at, f.url)) <> m.old_id
            """
        )
        # an id that names a story again (its founder came back) is no alias any more
        conn.execute(
            "DELETE FROM story_aliases WHERE alias_id IN (SELECT old_id FROM moved) "
            "AND alias_id IN (SELECT story_id FROM story_features)"
        )


def _assign(
    conn: duckdb.DuckDBPyConnection, pending: list[_Pending], tuning: Tuning | None, more: bool
) -> None:
    """Vectorize, assign in time order against the open stories, and store the outcome.

    more: later batches have work too (stories that still hold their queued stale articles
    are not joined: they are being taken apart, as one batch of everything would have done).
    """
    readings = {p.text.url: read(p.text) for p in pending}
    counts = {url: found for url, (found, _) in readings.items()}
    batch_terms: Counter[str] = Counter({_DOCUMENTS: len(pending)})
    for found in counts.values():
        batch_terms.update(set(found))
    df = _document_frequencies(conn, list(batch_terms))
    documents = df.pop(_DOCUMENTS, 0)
    tuning = tuning or Tuning()
    assigner = Assigner(
        _open_stories(conn, pending, more), tuning.english, tuning.original, tuning.decay_days
    )
    assigner.edition_story.update(_edition_stories(conn, pending))
    assignments: list[tuple[_Pending, Assignment]] = []
    for p in pending:
        # each article is weighed against the warehouse and the articles before it in the batch
        vector = vectorize(counts[p.text.url], df, documents)
        title = readings[p.text.url][1] if p.english else frozenset()
        assignments.append((p, assigner.assign(p.text, vector, p.english, title)))
        documents += 1
        for term in set(counts[p.text.url]):
            df[term] = df.get(term, 0) + 1
    _count_terms(conn, batch_terms)
    _store(conn, assignments, assigner)
    _merge_editions(conn, [p.text.url for p in pending])


def _document_frequencies(conn: duckdb.DuckDBPyConnection, wanted: list[str]) -> dict[str, int]:
    table = pa.table({"term": pa.array(wanted, pa.string())})
    with registered(conn, wanted_terms=table):
        rows = conn.execute(
            "SELECT term, df FROM story_terms JOIN wanted_terms USING (term)"
        ).fetchall()
    return dict(rows)


def _count_terms(conn: duckdb.DuckDBPyConnection, change: Counter[str]) -> None:
    """Add (or with negative counts, take away) articles from the terms' document counts."""
    change = Counter({t: n for t, n in change.items() if n})
    if not change:
        return
    table = pa.table(
        {
            "term": pa.array(list(change), pa.string()),
            "delta": pa.array(list(change.values()), pa.int32()),
        }
    )
    with registered(conn, term_change=table):
        conn.execute(
            "MERGE INTO story_terms USING term_change USING (term) "
            "WHEN MATCHED THEN UPDATE SET df = story_terms.df + term_change.delta "
            "WHEN NOT MATCHED THEN INSERT (term, df) VALUES (term_change.term, term_change.delta)"
        )
        conn.execute(
            "DELETE FROM story_terms WHERE df <= 0 AND term IN (SELECT term FROM term_change)"
        )


def _open_stories(
    conn: duckdb.DuckDBPyConnection, pending: list[_Pending], more: bool
) -> dict[int, Story]:
    """The stories whose span reaches within WINDOW of the batch's earliest or latest article.

    A batch spread over time (a backfill) reads the stories of its days only, never all; with
    more work after this batch, none that holds an article still to be assigned again.
    """
    days = sorted({p.text.at.date() for p in pending})
    table = pa.table(
        {
            "lo": pa.array([_midnight(d) - WINDOW for d in days], pa.timestamp("us", tz="UTC")),
            "hi": pa.array(
                [_midnight(d) + timedelta(days=1) + WINDOW for d in days],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    stale = f"""
        AND s.story_id NOT IN (
            SELECT f.story_id FROM story_features f
            JOIN ({_english("story_queue")}) c USING (url)
            WHERE f.fingerprint <> c.fingerprint
        )"""
    with registered(conn, batch_days=table):
        rows = conn.execute(
            "SELECT DISTINCT s.story_id, s.terms, s.weights, s.first_at, s.last_at, s.articles "
            "FROM story_state s JOIN batch_days d ON s.last_at >= d.lo AND s.first_at <= d.hi "
            "WHERE s.last_at >= $lo AND s.first_at <= $hi"  # the whole span first: cheap
            + (stale if more else ""),
            {"lo": table["lo"][0].as_py(), "hi": table["hi"][-1].as_py()},
        ).fetchall()
    return {
        story_id: Story(story_id, dict(zip(t, w, strict=True)), _utc(first), _utc(last), n)
        for story_id, t, w, first, last, n in rows
    }


def _edition_stories(conn: duckdb.DuckDBPyConnection, pending: list[_Pending]) -> dict[str, int]:
    """The story that an assigned edition of each pending article's edition group is in."""
    groups = sorted({p.text.edition_group for p in pending if p.text.edition_group})
    if not groups:
        return {}
    with registered(conn, groups=pa.table({"edition_group": pa.array(groups, pa.string())})):
        rows = conn.execute(
            "SELECT g.edition_group, min(a.story_id) FROM edition_groups g "
            "JOIN groups USING (edition_group) JOIN articles a ON a.url = g.url "
            "WHERE a.story_id IS NOT NULL GROUP BY g.edition_group"
        ).fetchall()
    return dict(rows)


def _store(
    conn: duckdb.DuckDBPyConnection,
    assignments: list[tuple[_Pending, Assignment]],
    assigner: Assigner,
) -> None:
    """Write the features and the articles' story ids, then the touched stories' states."""
    now = datetime.now(UTC)
    touched = {a.story_id for _, a in assignments}
    rows = [
        {
            "url": a.url,
            "story_id": a.story_id,
            "fingerprint": p.fingerprint,
            "terms": list(a.vector),
            "weights": list(a.vector.values()),
            "event_at": a.at,
            "english": p.english,
            "score": a.score,
            "centrality": similarity(a.vector, assigner.stories[a.story_id]),
            "assigned_at": now,
            "feature_version": FEATURE_VERSION,
        }
        for p, a in assignments
    ]
    with registered(conn, new_features=pa.Table.from_pylist(rows, _FEATURE_SCHEMA)):
        conn.execute("INSERT INTO story_features BY NAME SELECT * FROM new_features")
        conn.execute(
            "UPDATE articles SET story_id = f.story_id FROM new_features f "
            "WHERE articles.url = f.url"
        )
    _write_states(conn, [assigner.stories[s] for s in sorted(touched)])


def _write_states(conn: duckdb.DuckDBPyConnection, states: list[Story]) -> None:
    rows = pa.Table.from_pylist(
        [
            {
                "story_id": s.story_id,
                "terms": list(s.centroid),
                "weights": list(s.centroid.values()),
                "first_at": s.first,
                "last_at": s.last,
                "articles": s.articles,
            }
            for s in states
        ],
        _STATE_SCHEMA,
    )
    with registered(conn, new_states=rows):
        conn.execute("DELETE FROM story_state WHERE story_id IN (SELECT story_id FROM new_states)")
        conn.execute("INSERT INTO story_state BY NAME SELECT * FROM new_states")


def _rebuild_states(conn: duckdb.DuckDBPyConnection, story_ids: set[int]) -> None:
    """Recompute these stories' centroids and spans from their members (after some left)."""
    ids = pa.table({"story_id": pa.array(sorted(story_ids), pa.int64())})
    with registered(conn, rebuilt=ids):
        members = conn.execute(
            "SELECT story_id, terms, weights, event_at FROM story_features "
            "JOIN rebuilt USING (story_id) ORDER BY story_id, event_at, url"
        ).fetchall()
        conn.execute("DELETE FROM story_state WHERE story_id IN (SELECT story_id FROM rebuilt)")
    states: dict[int, Story] = {}
    for story_id, t, w, at in members:
        at = _utc(at)
        state = states.setdefault(story_id, Story(story_id, {}, at, at, 0))
        state.add(dict(zip(t, w, strict=True)), at)
    _write_states(conn, list(states.values()))


def _merge_editions(conn: duckdb.DuckDBPyConnection, assigned: list[str]) -> None:
    """Publisher-linked editions are one story: a group (of these just assigned articles) split
    over stories joins its oldest.

    The stories merged away keep their ids as aliases.
    """
    with registered(conn, assigned=url_table(assigned)):
        splits = conn.execute(
            """
            WITH split AS (
                SELECT g.edition_group, a.story_id, min(f.event_at) AS first_at
                FROM edition_groups g JOIN articles a ON a.url = g.url
                JOIN story_features f ON f.url = a.url
                WHERE g.edition_group IN
                    (SELECT edition_group FROM edition_groups JOIN assigned USING (url))
                GROUP BY ALL
            ),
            keeper AS (
                SELECT edition_group, arg_min(story_id, (first_at, story_id)) AS story_id
                FROM split GROUP BY edition_group HAVING count(*) > 1
            )
            SELECT DISTINCT s.story_id AS alias_id, k.story_id
            FROM split s JOIN keeper k USING (edition_group) WHERE s.story_id <> k.story_id
            """
        ).fetchall()
    if not splits:
        return
    merged = pa.table(
        {
            "alias_id": pa.array([a for a, _ in splits], pa.int64()),
            "story_id": pa.array([s for _, s in splits], pa.int64()),
        }
    )
    with registered(conn, merged=merged):
        conn.execute(
            "INSERT INTO story_aliases SELECT alias_id, story_id, now() FROM merged "
            "UNION ALL SELECT a.alias_id, m.story_id, now() FROM story_aliases a "
            "JOIN merged m ON a.story_id = m.alias_id"
        )
        conn.execute("DELETE FROM story_aliases WHERE story_id IN (SELECT alias_id FROM merged)")
        for table in ("story_features", "articles"):
            conn.execute(
                f"UPDATE {table} SET story_id = m.story_id FROM merged m "
                f"WHERE {table}.story_id = m.alias_id"
            )
    _rebuild_states(conn, {a for a, _ in splits} | {s for _, s in splits})


def _copies(conn: duckdb.DuckDBPyConnection, assigned: list[str]) -> None:
    """Exact copies (duplicate_of) tell their original's story: the queued copies, and the
    copies of these just assigned articles (found first: a join of all articles grows)."""
    copies = conn.execute(
        "SELECT url, duplicate_of FROM articles "
        "WHERE url IN (SELECT url FROM story_queue) AND duplicate_of IS NOT NULL"
    ).to_arrow_table()
    if assigned:
        with registered(conn, assigned=url_table(assigned)):
            moved = conn.execute(
                "SELECT url, duplicate_of FROM articles "
                "WHERE duplicate_of IN (SELECT url FROM assigned)"
            ).to_arrow_table()
        copies = pa.concat_tables([copies, moved])
    if not copies.num_rows:
        return
    with registered(conn, copies=copies):
        conn.execute(
            "UPDATE articles SET story_id = o.story_id FROM copies c JOIN articles o "
            "ON o.url = c.duplicate_of WHERE articles.url = c.url "
            "AND articles.story_id IS DISTINCT FROM o.story_id"
        )


def _midnight(day: object) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)  # type: ignore[arg-type]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def resolve(conn: duckdb.DuckDBPyConnection, story_id: int) -> int | None:
    """The story an id names now (itself, or the story it was merged into); None if unknown."""
    row = conn.execute(
        "SELECT story_id FROM story_aliases WHERE alias_id = $id "
        "UNION ALL SELECT story_id FROM articles WHERE story_id = $id LIMIT 1",
        {"id": story_id},
    ).fetchone()
    return int(row[0]) if row else None
