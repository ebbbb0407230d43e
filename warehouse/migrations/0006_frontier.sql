-- The crawl frontier: the current state of every URL a source ever listed (fetch_log stays the
-- history of attempts). A URL is requested again only when it is due.
CREATE TABLE frontier (
    url                  VARCHAR PRIMARY KEY,  -- canonical form of the listed (or resolved) URL
    source_id            VARCHAR NOT NULL,
    state                VARCHAR NOT NULL,     -- an outcome: discovered, stored, alias, duplicate,
                                               -- outside_window, http_error, timeout, ...
    resolved_url         VARCHAR,              -- the article it leads to (itself when stored)
    via                  VARCHAR,              -- how it leads there: redirect, canonical, text
    listed_title         VARCHAR,
    listed_published_at  TIMESTAMPTZ,          -- what the listing (or the page) said
    listed_modified_at   TIMESTAMPTZ,
    first_seen           TIMESTAMPTZ NOT NULL,
    last_fetched         TIMESTAMPTZ,
    attempts             INTEGER NOT NULL DEFAULT 0,  -- failed attempts since the last success
    last_status          INTEGER,
    last_error           VARCHAR,
    next_due             TIMESTAMPTZ,          -- NULL: never again by policy (done, or given up)
    leased_by            VARCHAR,              -- host:pid:run of a run fetching it right now
    leased_until         TIMESTAMPTZ
);

-- Known URLs: stored articles are stored, and never due again.
INSERT INTO frontier (url, source_id, state, resolved_url, first_seen, last_fetched, next_due)
SELECT url, source_id, CASE WHEN duplicate_of IS NULL THEN 'stored' ELSE 'duplicate' END,
       coalesce(duplicate_of, url), fetched_at, fetched_at, NULL
FROM articles;

-- Every other article URL a run tried: its latest outcome, due now so that the policy decides.
INSERT INTO frontier (url, source_id, state, first_seen, last_fetched, attempts, last_status,
                      last_error, next_due)
SELECT url, arg_max(source_id, id), arg_max(outcome, id), min(attempted_at), max(attempted_at),
       count(*), arg_max(http_status, id), arg_max(error, id), max(attempted_at)
FROM fetch_log
WHERE kind = 'article' AND url NOT IN (SELECT url FROM articles)
GROUP BY url;

-- Retries of a flow run keep their own figures: one runs row, and one set of fetch_log rows,
-- per attempt. (URLs a listing names that are known are no longer logged: the frontier has them.)
ALTER TABLE fetch_log ADD COLUMN attempt INTEGER DEFAULT 1;
CREATE TABLE runs_by_attempt (
    run_id      VARCHAR NOT NULL,
    attempt     INTEGER NOT NULL,
    flow        VARCHAR NOT NULL,
    started_at  TIMESTAMPTZ,
    ended_at    TIMESTAMPTZ,
    parameters  JSON,
    fetched     INTEGER NOT NULL,
    new         INTEGER NOT NULL,
    duplicate   INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    translated  INTEGER NOT NULL,
    state       VARCHAR,              -- Running, then how it ended: Completed, Failed, ...
    runner      VARCHAR,              -- host:pid that ran it: a dead one leaves Crashed
    PRIMARY KEY (run_id, attempt)
);
INSERT INTO runs_by_attempt
SELECT run_id, 1, flow, started_at, ended_at, parameters, fetched, new, duplicate, failed,
       translated, NULL, NULL
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_by_attempt RENAME TO runs;

-- A page's rel=canonical that names another site is not its identity, but is kept.
ALTER TABLE articles ADD COLUMN declared_canonical VARCHAR;

-- Every URL that led to an article: the article's own, redirects, same-site canonicals, copies.
CREATE VIEW article_urls AS
SELECT resolved_url AS article_url, url, coalesce(via, 'itself') AS via, state
FROM frontier
WHERE resolved_url IS NOT NULL;
