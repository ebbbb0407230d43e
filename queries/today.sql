-- What arrived today: every story fetched on a day, with its English title, newest first.
-- A day is a UTC day and an article belongs to the day newsflow fetched it (as in the digest).
-- @param day (optional) the day, YYYY-MM-DD; default today
SELECT
    fetched_at,
    source_id,
    language,
    coalesce(title_en, title_original) AS title,
    translation_status,
    cluster_id,
    url
FROM articles_en
WHERE CAST(timezone('UTC', fetched_at) AS DATE) = coalesce(CAST($day AS DATE), current_date)
ORDER BY fetched_at DESC, url;
