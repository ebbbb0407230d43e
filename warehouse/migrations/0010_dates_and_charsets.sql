-- Dates and charsets you can trust (issue 13).
-- published_source: where published_at came from: page_metadata (the page's meta tags or
-- <time>), json_ld (its schema.org datePublished), feed, sitemap, listing (what listed the
-- link), url (a /2025/10/04/ path: a day, no time) or none. published_at is never the fetch
-- time: an article with no date has published_source 'none' and published_at NULL.
-- charset / charset_source: the codec its page was decoded with (Python's name: utf-8,
-- cp1251, koi8-r, gb18030) and why: header, bom, meta (or an XML declaration) or detected.
-- Articles stored before this migration have NULL in all three, except that an article
-- without a date is known to have published_source 'none'.
ALTER TABLE articles ADD COLUMN published_source VARCHAR;
ALTER TABLE articles ADD COLUMN charset VARCHAR;
ALTER TABLE articles ADD COLUMN charset_source VARCHAR;
UPDATE articles SET published_source = 'none' WHERE published_at IS NULL;

-- Stories per day, source and language. The day is the publication day in UTC; articles
-- whose pages and listings gave no date count on their fetch day, in rows of their own that
-- say so (day_from 'fetched'), never mixed into the publication days.
CREATE OR REPLACE VIEW daily_counts AS
SELECT
    CAST(timezone('UTC', coalesce(published_at, fetched_at)) AS DATE) AS day,
    CASE WHEN published_at IS NULL THEN 'fetched' ELSE 'published' END AS day_from,
    source_id,
    language,
    count(*) AS articles,
    count(*) FILTER (translation_status IN ('done', 'not_needed')) AS in_english,
    count(*) FILTER (translation_status = 'pending_model') AS pending_translation,
    count(DISTINCT cluster_id) AS stories
FROM articles_en
GROUP BY ALL;
