-- A page over the processing budget (limits: max_page_elements, page_cpu_seconds,
-- page_memory_mb) ends `too_costly`: a failure, counted as the other failures are.
-- One row per source: when it last worked, its usual volume, how often it fails or meets a bot
-- wall, how long its texts are, and what its latest canary said. Rates are over the last 14
-- days of attempts (skipped URLs left out); NULL where there were none.
CREATE OR REPLACE VIEW source_health AS
WITH known AS (
    SELECT id AS source_id FROM sources
    UNION
    SELECT DISTINCT source_id FROM fetch_log
),
today AS (
    SELECT CAST(timezone('UTC', now()) AS DATE) AS day
),
recent AS (
    SELECT
        source_id,
        outcome,
        -- a bot wall's vendor, from the error "blocked by <vendor>: <evidence>"
        CASE WHEN outcome = 'blocked' THEN
            coalesce(nullif(regexp_extract(error, 'blocked by ([a-z-]+)', 1), ''), 'unknown')
        END AS wall
    FROM fetch_log
    WHERE attempted_at >= now() - INTERVAL 14 DAY AND outcome <> 'skipped'
),
attempts AS (
    SELECT
        source_id,
        count(*) AS attempts_14d,
        -- the failure outcomes of warehouse/reports.py FAILURES
        count(*) FILTER (outcome IN ('malformed', 'http_error', 'timeout', 'empty', 'not_html',
                                     'too_large', 'too_costly', 'network_error',
                                     'redirect_loop', 'no_content',
                                     'crashed', 'truncated', 'undecodable', 'refused',
                                     'blocked')) AS failed_14d,
        count(*) FILTER (outcome = 'blocked') AS blocked_14d,
        list_sort(list(DISTINCT wall) FILTER (wall IS NOT NULL)) AS blocked_by
    FROM recent
    GROUP BY source_id
),
lasts AS (
    SELECT
        source_id,
        max(attempted_at) FILTER (outcome IN ('listed', 'not_modified', 'stored', 'duplicate',
                                              'revised')) AS last_success,
        max(attempted_at) FILTER (outcome = 'stored') AS last_new_article
    FROM fetch_log
    GROUP BY source_id
),
daily AS (
    SELECT source_id, CAST(timezone('UTC', attempted_at) AS DATE) AS day, count(*) AS new
    FROM fetch_log
    WHERE outcome = 'stored' AND attempted_at >= now() - INTERVAL 15 DAY
    GROUP BY ALL
),
volume AS (
    -- every one of the last 14 UTC days counts, a day with nothing new as 0
    SELECT k.source_id, median(coalesce(d.new, 0)) AS new_per_day_median_14d
    FROM known k
    CROSS JOIN (SELECT today.day - CAST(i AS INTEGER) AS day FROM today, range(14) t(i)) days
    LEFT JOIN daily d ON d.source_id = k.source_id AND d.day = days.day
    GROUP BY k.source_id
),
lengths AS (
    SELECT
        source_id,
        median(length(text)) FILTER (fetched_at >= now() - INTERVAL 14 DAY)
            AS median_text_chars_14d,
        median(length(text)) FILTER (fetched_at < now() - INTERVAL 14 DAY
                                     AND fetched_at >= now() - INTERVAL 90 DAY)
            AS median_text_chars_before
    FROM articles
    WHERE duplicate_of IS NULL
    GROUP BY source_id
),
canary AS (
    SELECT
        source_id,
        arg_max(status, checked_at) AS canary_status,
        arg_max(reason, checked_at) AS canary_reason,
        max(checked_at) AS canary_checked_at
    FROM canary_checks
    GROUP BY source_id
)
SELECT
    k.source_id,
    l.last_success,
    l.last_new_article,
    v.new_per_day_median_14d,
    coalesce(a.attempts_14d, 0) AS attempts_14d,
    a.failed_14d / a.attempts_14d AS failure_rate_14d,
    a.blocked_14d / a.attempts_14d AS blocked_rate_14d,
    a.blocked_by,
    n.median_text_chars_14d,
    n.median_text_chars_before,
    c.canary_status,
    c.canary_reason,
    c.canary_checked_at
FROM known k
LEFT JOIN lasts l USING (source_id)
LEFT JOIN volume v USING (source_id)
LEFT JOIN attempts a USING (source_id)
LEFT JOIN lengths n USING (source_id)
LEFT JOIN canary c USING (source_id)
ORDER BY k.source_id;
