-- The walking skeleton: sources, one row per article, and a log of every fetch attempt.
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
