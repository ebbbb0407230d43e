-- Pending translations: per language, how many articles wait for a translation model, from
-- which sources, and since when. Install a model (newsflow models install LANG), then run
-- newsflow translate.
SELECT
    language,
    count(*) AS articles,
    list(DISTINCT source_id ORDER BY source_id) AS sources,
    min(fetched_at) AS waiting_since
FROM articles
WHERE translation_status = 'pending_model'
GROUP BY language
ORDER BY articles DESC, language;
