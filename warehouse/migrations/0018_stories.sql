-- Stories: articles about one event, any outlet or language, within days (warehouse/stories.py).
-- Reposts stay what story_clusters computes (near-duplicate copies of one text); the view
-- repost_clusters names them for what they are.

-- The story an article tells (exact copies share their original's); NULL until assigned.
ALTER TABLE articles ADD COLUMN IF NOT EXISTS story_id BIGINT;

-- Each assigned article's story vector, read from its English text (else the original):
-- term weights (a unit TF-IDF vector), the time it is placed at, and what it was read from.
-- fingerprint changes whenever the English text may have: a changed row is assigned again.
CREATE TABLE IF NOT EXISTS story_features (
    url           VARCHAR NOT NULL,
    story_id      BIGINT NOT NULL,
    fingerprint   UBIGINT NOT NULL,
    terms         VARCHAR[] NOT NULL,
    weights       DOUBLE[] NOT NULL,
    event_at      TIMESTAMPTZ NOT NULL,  -- published, else fetched
    english       BOOLEAN NOT NULL,      -- read from English text (else the untranslated original)
    score         DOUBLE NOT NULL,       -- time-decayed cosine to the story it joined (1: founded)
    centrality    DOUBLE NOT NULL,       -- cosine to its story's centroid now
    assigned_at   TIMESTAMPTZ NOT NULL,
    feature_version SMALLINT NOT NULL
);

-- Open-story state: the centroid (sum of member vectors, heaviest terms) and time span of each
-- story. Assignment reads only the stories whose span reaches the new articles' window.
CREATE TABLE IF NOT EXISTS story_state (
    story_id    BIGINT NOT NULL,
    terms       VARCHAR[] NOT NULL,
    weights     DOUBLE[] NOT NULL,
    first_at    TIMESTAMPTZ NOT NULL,
    last_at     TIMESTAMPTZ NOT NULL,
    articles    INTEGER NOT NULL
);

-- How many assigned articles use each term (the IDF of the vectors); '' counts the articles.
CREATE TABLE IF NOT EXISTS story_terms (
    term  VARCHAR NOT NULL,
    df    INTEGER NOT NULL
);

-- A story merged into another (publisher editions linked after both were assigned) keeps its
-- id here, so `newsflow story OLD_ID` still finds it.
CREATE TABLE IF NOT EXISTS story_aliases (
    alias_id   BIGINT NOT NULL,
    story_id   BIGINT NOT NULL,
    merged_at  TIMESTAMPTZ NOT NULL
);

CREATE OR REPLACE VIEW repost_clusters AS
SELECT url, cluster_id AS repost_id, similarity, assigned_at FROM story_clusters;

-- articles_en as in 0012, with the story.
CREATE OR REPLACE VIEW articles_en AS
WITH english_editions AS (
    SELECT g.edition_group,
           arg_min(a.url, a.url) AS url,
           arg_min(a.title, a.url) AS title,
           arg_min(a.text, a.url) AS text
    FROM edition_groups g
    JOIN articles a ON a.url = g.url
    WHERE a.language = 'en' AND a.duplicate_of IS NULL
    GROUP BY g.edition_group
)
SELECT
    a.url,
    a.source_id,
    s.name AS source_name,
    a.language,
    a.published_at,
    a.fetched_at,
    CASE WHEN a.language = 'en' THEN coalesce(a.title_en, a.title)
         WHEN e.url IS NOT NULL THEN e.title
         ELSE a.title_en END AS title_en,
    CASE WHEN a.language = 'en' THEN coalesce(a.text_en, a.text)
         WHEN e.url IS NOT NULL THEN e.text
         ELSE a.text_en END AS text_en,
    a.translation_status,
    a.translation_model,
    c.cluster_id,
    a.title AS title_original,
    a.text AS text_original,
    CASE WHEN a.language = 'en' THEN 'original'
         WHEN e.url IS NOT NULL THEN 'publisher_edition'
         WHEN a.text_en IS NOT NULL THEN 'machine'
         ELSE 'pending' END AS english_from,
    CASE WHEN a.language <> 'en' AND e.url IS NOT NULL THEN e.url END AS english_url,
    g.edition_group,
    a.story_id
FROM articles a
LEFT JOIN sources s ON s.id = a.source_id
LEFT JOIN story_clusters c ON c.url = a.url
LEFT JOIN edition_groups g ON g.url = a.url
LEFT JOIN english_editions e ON e.edition_group = g.edition_group
WHERE a.duplicate_of IS NULL;

-- One row per story, for analysts: the English title of its most central article, when it
-- was first and last seen (published, else fetched) and last fetched, in which languages and
-- by which sources, and who told it first.
CREATE OR REPLACE VIEW stories AS
WITH members AS (
    SELECT e.story_id, e.url, e.source_id, e.language,
           coalesce(f.event_at, e.published_at, e.fetched_at) AS event_at,
           coalesce(f.centrality, 0) AS centrality, e.fetched_at,
           coalesce(e.title_en, e.title_original) AS title,
           -- an English title first, then the most central article, then the publisher's own
           (e.title_en IS NOT NULL, coalesce(f.centrality, 0),
            e.english_from IN ('original', 'publisher_edition')) AS rank
    FROM articles_en e LEFT JOIN story_features f ON f.url = e.url
    WHERE e.story_id IS NOT NULL
)
SELECT
    story_id,
    arg_max(title, (rank, url)) AS title,
    min(event_at) AS first_seen,
    max(event_at) AS last_seen,
    max(fetched_at) AS last_fetched,
    list(DISTINCT language ORDER BY language) AS languages,
    list(DISTINCT source_id ORDER BY source_id) AS sources,
    count(*) AS articles,
    arg_min(source_id, (event_at, url)) AS first_source,
    arg_min(url, (event_at, url)) AS first_url
FROM members
GROUP BY story_id;
