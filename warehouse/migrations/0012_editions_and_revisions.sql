-- Idempotent (IF NOT EXISTS, OR REPLACE): two DuckLake workers that migrate a new lake at once
-- may both run it.

-- Editions: a publisher's versions of one story in other languages, linked by the pages'
-- <link rel="alternate" hreflang> tags (same site only). article_editions keeps the links each
-- page declared; edition_groups puts every URL of linked editions in one group, named by the
-- smallest URL among them, so the name is the same whichever edition arrives first.
CREATE TABLE IF NOT EXISTS article_editions (
    url           VARCHAR NOT NULL,      -- the article whose page declares the link
    source_id     VARCHAR NOT NULL,
    language      VARCHAR NOT NULL,      -- the hreflang value, lower-case: en, ru, az, pt-br
    edition_url   VARCHAR NOT NULL,      -- canonical form of the edition's URL
    seen_at       TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS edition_groups (
    url            VARCHAR NOT NULL,     -- an article, or an edition not fetched yet
    edition_group  VARCHAR NOT NULL
);

-- Updates: every version of an article whose text or title changed after it was stored.
-- revision 1 is the text first stored; the articles row always holds the newest.
CREATE TABLE IF NOT EXISTS article_revisions (
    url              VARCHAR NOT NULL,
    source_id        VARCHAR NOT NULL,
    revision         INTEGER NOT NULL,
    fetched_at       TIMESTAMPTZ NOT NULL,
    title            VARCHAR,
    text             VARCHAR NOT NULL,
    sha256           VARCHAR NOT NULL,   -- of the text
    previous_sha256  VARCHAR,            -- of the revision before (NULL for revision 1)
    chars_changed    INTEGER,            -- characters inserted or deleted since the one before
    similarity       DOUBLE,             -- difflib ratio to the one before (1 = same)
    raw_sha256       VARCHAR             -- the archived body it was read from
);

-- Conditional GETs of stored articles: what the last answer said identifies it.
ALTER TABLE frontier ADD COLUMN IF NOT EXISTS etag VARCHAR;
ALTER TABLE frontier ADD COLUMN IF NOT EXISTS last_modified VARCHAR;

-- English for every story: the original where it is English, else the publisher's own English
-- edition where one is stored, else the model's translation; english_from says which.
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
    g.edition_group
FROM articles a
LEFT JOIN sources s ON s.id = a.source_id
LEFT JOIN story_clusters c ON c.url = a.url
LEFT JOIN edition_groups g ON g.url = a.url
LEFT JOIN english_editions e ON e.edition_group = g.edition_group
WHERE a.duplicate_of IS NULL;
