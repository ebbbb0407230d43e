-- Failing sources: per source, what failed in the last days and how, how many URLs the revisit
-- policy has given up, and when the source last stored an article. A source that fails every
-- URL, or has stored nothing for days, needs a look (newsflow frontier --failures lists why).
-- @param days (optional) how many days back, by attempt time; default 7
WITH recent AS (
    SELECT
        source_id,
        outcome,
        count(*) AS urls,
        -- neither success nor a deliberate skip: the outcomes a later run tries again
        outcome IN ('malformed', 'http_error', 'timeout', 'empty', 'not_html', 'too_large',
                    'too_costly', 'network_error', 'redirect_loop', 'no_content', 'crashed',
                    'truncated', 'undecodable', 'refused', 'blocked') AS failure
    FROM fetch_log
    WHERE attempted_at >= now() - to_days(coalesce(CAST($days AS INTEGER), 7))
    GROUP BY ALL
),
given_up AS (
    SELECT source_id, count(*) AS given_up FROM frontier
    WHERE next_due IS NULL
      AND state NOT IN ('stored', 'alias', 'duplicate', 'discovered', 'outside_window')
    GROUP BY ALL
)
SELECT
    s.id AS source_id,
    CAST(coalesce(sum(r.urls) FILTER (NOT r.failure), 0) AS BIGINT) AS other_outcomes,
    CAST(coalesce(sum(r.urls) FILTER (r.failure), 0) AS BIGINT) AS failed,
    string_agg(r.outcome || ' ' || r.urls, ', ' ORDER BY r.urls DESC, r.outcome)
        FILTER (r.failure) AS failures,
    coalesce(any_value(g.given_up), 0) AS given_up,
    (SELECT max(fetched_at) FROM articles a WHERE a.source_id = s.id) AS last_stored
FROM sources s
LEFT JOIN recent r ON r.source_id = s.id
LEFT JOIN given_up g ON g.source_id = s.id
GROUP BY s.id
ORDER BY failed DESC, last_stored NULLS FIRST, s.id;
