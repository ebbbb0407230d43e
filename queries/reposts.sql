-- Reposts: articles that repeat a story another source (or the same one under another URL)
-- published first, exact copies and near copies (same story cluster) alike, newest first.
-- @param days (optional) how many days back, by fetch time; default 7
WITH stories AS (
    SELECT a.url, a.source_id, a.language, a.fetched_at, a.duplicate_of,
           coalesce(a.title_en, a.title) AS title, c.cluster_id
    FROM articles a LEFT JOIN story_clusters c USING (url)
),
firsts AS (
    SELECT DISTINCT ON (cluster_id) cluster_id, url AS first_url, source_id AS first_source,
           fetched_at AS first_fetched
    FROM stories WHERE cluster_id IS NOT NULL AND duplicate_of IS NULL
    ORDER BY cluster_id, fetched_at, url
)
SELECT
    s.fetched_at,
    s.source_id,
    s.language,
    CASE WHEN s.duplicate_of IS NOT NULL THEN 'exact copy' ELSE 'same story' END AS kind,
    coalesce(s.duplicate_of, f.first_url) AS original_url,
    coalesce(o.source_id, f.first_source) AS original_source,
    s.title,
    s.url
FROM stories s
LEFT JOIN firsts f ON f.cluster_id = s.cluster_id AND s.duplicate_of IS NULL
LEFT JOIN articles o ON o.url = s.duplicate_of
WHERE s.fetched_at >= now() - to_days(coalesce(CAST($days AS INTEGER), 7))
  AND (s.duplicate_of IS NOT NULL OR (f.first_url IS NOT NULL AND f.first_url <> s.url))
ORDER BY s.fetched_at DESC, s.url;
