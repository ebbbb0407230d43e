-- First to report: for each story told by several sources, every source in the order it had
-- the story (published time, else fetch time), and how long after the first one it came.
-- @param days (optional) how many days back, by fetch time; default 30
WITH firsts AS (
    SELECT e.story_id, e.source_id,
           min(coalesce(f.event_at, e.published_at, e.fetched_at)) AS reported_at,
           arg_min(e.language, coalesce(f.event_at, e.published_at, e.fetched_at)) AS language,
           arg_min(e.url, coalesce(f.event_at, e.published_at, e.fetched_at)) AS url
    FROM articles_en e LEFT JOIN story_features f ON f.url = e.url
    WHERE e.story_id IS NOT NULL
    GROUP BY e.story_id, e.source_id
)
SELECT
    s.story_id,
    s.title,
    rank() OVER (PARTITION BY s.story_id ORDER BY f.reported_at) AS place,
    f.source_id,
    f.language,
    f.reported_at,
    f.reported_at - min(f.reported_at) OVER (PARTITION BY s.story_id) AS after_first,
    f.url
FROM firsts f JOIN stories s ON s.story_id = f.story_id
WHERE len(s.sources) > 1
  AND s.last_fetched >= now() - to_days(coalesce(CAST($days AS INTEGER), 30))
ORDER BY s.first_seen DESC, s.story_id, place, f.source_id;
