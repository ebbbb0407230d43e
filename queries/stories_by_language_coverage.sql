-- Stories by language coverage: how many stories each combination of languages told (en+ru,
-- az alone...), with their articles and the biggest story of each, most stories first.
-- @param days (optional) how many days back, by fetch time; default 30
SELECT
    array_to_string(languages, '+') AS languages,
    count(*) AS stories,
    sum(articles) AS articles,
    arg_max(title, (articles, story_id)) AS biggest_story
FROM stories
WHERE last_fetched >= now() - to_days(coalesce(CAST($days AS INTEGER), 30))
GROUP BY languages
ORDER BY stories DESC, articles DESC, languages;
