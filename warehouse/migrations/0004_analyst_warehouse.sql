-- What analysts need beyond the skeleton: a run log, the raw archive, exact and near duplicates,
-- and the two views most questions start from.

-- One row per flow run, with the figures its summary shows.
CREATE TABLE runs (
    run_id      VARCHAR PRIMARY KEY,
    flow        VARCHAR NOT NULL,
    started_at  TIMESTAMPTZ,
    ended_at    TIMESTAMPTZ,
    parameters  JSON,
    fetched     INTEGER NOT NULL,   -- article pages requested
    new         INTEGER NOT NULL,   -- articles stored as new stories
    duplicate   INTEGER NOT NULL,   -- same canonical URL or same normalized text as a stored one
    failed      INTEGER NOT NULL,
    translated  INTEGER NOT NULL    -- new articles with an English translation made by a model
);

-- Every fetched response body, zstd-compressed, keyed by the SHA-256 of its UTF-8 text.
CREATE TABLE raw_archive (
    sha256        VARCHAR PRIMARY KEY,
    content_type  VARCHAR,
    size          BIGINT NOT NULL,     -- bytes before compression
    body          BLOB NOT NULL,       -- zstd frame of the UTF-8 text
    archived_at   TIMESTAMPTZ NOT NULL
);
ALTER TABLE fetch_log ADD COLUMN raw_sha256 VARCHAR;
ALTER TABLE articles ADD COLUMN raw_sha256 VARCHAR;

-- An article whose normalized text (content_hash) was already stored under another URL points
-- at that first article; it stays in the table so its URL is known, but is not a new story.
ALTER TABLE articles ADD COLUMN duplicate_of VARCHAR;
CREATE INDEX articles_content_hash ON articles (content_hash);

-- Near-duplicates: every article's MinHash signature (over word shingles of its English text)
-- and the story it belongs to; minhash_bands is the LSH index that finds candidates.
CREATE TABLE story_clusters (
    url          VARCHAR PRIMARY KEY,
    cluster_id   BIGINT NOT NULL,
    similarity   DOUBLE NOT NULL,     -- estimated Jaccard to the member it joined (1 = founder)
    minhash      UBIGINT[] NOT NULL,
    assigned_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX story_clusters_cluster ON story_clusters (cluster_id);
CREATE TABLE minhash_bands (
    band    SMALLINT NOT NULL,
    bucket  UBIGINT NOT NULL,
    url     VARCHAR NOT NULL
);
CREATE INDEX minhash_bands_bucket ON minhash_bands (bucket);

-- One row per story (exact duplicates left out) with English title and text whatever the
-- source language: the model's translation, or the original where it is English.
CREATE VIEW articles_en AS
SELECT
    a.url,
    a.source_id,
    s.name AS source_name,
    a.language,
    a.published_at,
    a.fetched_at,
    coalesce(a.title_en, CASE WHEN a.language = 'en' THEN a.title END) AS title_en,
    coalesce(a.text_en, CASE WHEN a.language = 'en' THEN a.text END) AS text_en,
    a.translation_status,
    a.translation_model,
    c.cluster_id,
    a.title AS title_original,
    a.text AS text_original
FROM articles a
LEFT JOIN sources s ON s.id = a.source_id
LEFT JOIN story_clusters c ON c.url = a.url
WHERE a.duplicate_of IS NULL;

-- Stories per publication day in UTC (fetch day when the page gave none), source and language.
CREATE VIEW daily_counts AS
SELECT
    CAST(timezone('UTC', coalesce(published_at, fetched_at)) AS DATE) AS day,
    source_id,
    language,
    count(*) AS articles,
    count(*) FILTER (translation_status IN ('done', 'not_needed')) AS in_english,
    count(*) FILTER (translation_status = 'pending_model') AS pending_translation,
    count(DISTINCT cluster_id) AS stories
FROM articles_en
GROUP BY ALL;
