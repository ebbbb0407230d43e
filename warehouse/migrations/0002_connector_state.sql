-- What connectors remember between daily runs: HTTP validators of listings (feeds, sitemaps,
-- API pages) for conditional GETs, and per source the newest publication time seen.
CREATE TABLE http_validators (
    url            VARCHAR PRIMARY KEY,
    source_id      VARCHAR NOT NULL,
    etag           VARCHAR,
    last_modified  VARCHAR,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE TABLE source_cursors (
    source_id         VARCHAR PRIMARY KEY,
    newest_published  TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL
);
