-- What a source said about a name this week: its articles whose original or English title or
-- text mentions the name (case-insensitive substring), newest first, with the sentence-sized
-- context around the first mention. Write the name as the source writes it (Баку, 巴库,
-- Bakı) or in English to match the translation.
-- @param source the source id, e.g. caucasian-knot (see: select id from sources)
-- @param name the name to look for, e.g. Baku
-- @param days (optional) how many days back, by publication day (fetch day without one); default 7
-- dated_by says which: 'published' or, for an article whose page and listing gave no date, 'fetched'.
WITH hits AS (
    SELECT
        coalesce(published_at, fetched_at) AS published,
        CASE WHEN published_at IS NULL THEN 'fetched' ELSE 'published' END AS dated_by,
        language,
        coalesce(title_en, title_original) AS title,
        coalesce(text_original, '') || ' ' || coalesce(text_en, '') AS body,
        url
    FROM articles_en
    WHERE source_id = $source
      AND coalesce(published_at, fetched_at)
          >= now() - to_days(coalesce(CAST($days AS INTEGER), 7))
      AND (title_original ILIKE '%' || $name || '%' OR title_en ILIKE '%' || $name || '%'
           OR text_original ILIKE '%' || $name || '%' OR text_en ILIKE '%' || $name || '%')
)
SELECT
    published,
    dated_by,
    language,
    title,
    substr(body, greatest(strpos(lower(body), lower($name)) - 80, 1), 200) AS context,
    url
FROM hits
ORDER BY published DESC, url;
