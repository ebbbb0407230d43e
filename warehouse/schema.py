"""Versioned schema: migrations applied in order on connect, recorded in schema_version."""

from __future__ import annotations

import duckdb

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE sources (
            id          VARCHAR PRIMARY KEY,
            name        VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,
            base_url    VARCHAR NOT NULL,
            language    VARCHAR,
            updated_at  TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE articles (
            url                 VARCHAR PRIMARY KEY,
            source_id           VARCHAR NOT NULL,
            title               VARCHAR,
            text                VARCHAR NOT NULL,
            language            VARCHAR NOT NULL,
            author              VARCHAR,
            published_at        TIMESTAMPTZ,
            fetched_at          TIMESTAMPTZ NOT NULL,
            content_hash        VARCHAR NOT NULL,
            title_en            VARCHAR,
            text_en             VARCHAR,
            translation_status  VARCHAR NOT NULL,
            translation_model   VARCHAR,
            translation_error   VARCHAR
        );
        CREATE SEQUENCE fetch_log_id;
        CREATE TABLE fetch_log (
            id            BIGINT PRIMARY KEY DEFAULT nextval('fetch_log_id'),
            run_id        VARCHAR,
            source_id     VARCHAR NOT NULL,
            url           VARCHAR NOT NULL,
            outcome       VARCHAR NOT NULL,
            http_status   INTEGER,
            error         VARCHAR,
            attempted_at  TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX fetch_log_url ON fetch_log (url);
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(conn: duckdb.DuckDBPyConnection) -> int:
    """Schema version of an open warehouse (0 for a new, empty file)."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0) if row else 0


def migrate(conn: duckdb.DuckDBPyConnection) -> int:
    """Bring the schema up to date, each migration in its own transaction; returns the version."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    version = current_version(conn)
    for number, sql in MIGRATIONS:
        if number <= version:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(sql)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        version = number
    return version
