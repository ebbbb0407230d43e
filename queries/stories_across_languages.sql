-- Stories across languages: story clusters told in more than one language (or by more than
-- one source) in the last days, most languages first, with who told them and when.
-- @param days (optional) how many days back, by fetch time; default 7
SELECT
    cluster_id,
    count(DISTINCT language) AS languages,
    count(DISTINCT source_id) AS sources,
    count(*) AS articles,
    min(fetched_at) AS first_seen,
    list(DISTINCT language ORDER BY language) AS language_list,
    list(DISTINCT source_id ORDER BY source_id) AS source_list,
    -- the publisher's English edition where there is one, else a translation
    coalesce(
        any_value(title_original) FILTER (language = 'en'),
        any_value(title_en) FILTER (title_en IS NOT NULL),
        any_value(title_original)
    ) AS title
FROM articles_en
WHERE fetched_at >= now() - to_days(coalesce(CAST($days AS INTEGER), 7))
GROUP BY cluster_id
HAVING count(DISTINCT language) > 1 OR count(DISTINCT source_id) > 1
ORDER BY languages DESC, sources DESC, articles DESC, first_seen DESC;
