-- Stories across languages: stories (events) told in more than one language, or by more than
-- one source, fetched in the last days, most languages first, with who told them and when.
-- @param days (optional) how many days back, by fetch time; default 7
SELECT
    story_id,
    len(languages) AS languages,
    len(sources) AS sources,
    articles,
    first_seen,
    last_seen,
    languages AS language_list,
    sources AS source_list,
    first_source,
    title
FROM stories
WHERE last_fetched >= now() - to_days(coalesce(CAST($days AS INTEGER), 7))
  AND (len(languages) > 1 OR len(sources) > 1)
ORDER BY languages DESC, sources DESC, articles DESC, first_seen DESC, story_id;
