-- Publication dates as ranked evidence, authors as a list, paywalls (issue 27). Idempotent.
-- published_precision: 'minute' when the page or listing gave a time of day, 'day' when it gave
-- only the day (published_at then holds noon of that day in the source's zone, a placeholder
-- that stays on its day in UTC, never a time); NULL for articles stored before this migration.
-- published_evidence: JSON of every dated clue read (kind, where, text, time, weight, won)
-- and what set the zone the day is taken in.
-- authors: the people of the byline, in order (author keeps them joined by ", ").
-- paywalled: the page marks its article as behind a paywall (schema.org isAccessibleForFree
-- false, a locked content tier, a paywall vendor's prompt): its text is what the page showed,
-- maybe a teaser, not known to be the whole story. NULL before this migration.
ALTER TABLE articles ADD COLUMN IF NOT EXISTS published_precision VARCHAR;
ALTER TABLE articles ADD COLUMN IF NOT EXISTS published_evidence VARCHAR;
ALTER TABLE articles ADD COLUMN IF NOT EXISTS authors VARCHAR[];
ALTER TABLE articles ADD COLUMN IF NOT EXISTS paywalled BOOLEAN;
-- text_source: 'page' (extracted from the page) or 'feed_description' (the page yielded no
-- article, and its feed item's description stands for its text). NULL before this migration.
ALTER TABLE articles ADD COLUMN IF NOT EXISTS text_source VARCHAR;
-- listed_summary: the feed item's description, kept until its page is read.
ALTER TABLE frontier ADD COLUMN IF NOT EXISTS listed_summary VARCHAR;
UPDATE articles SET authors = [author] WHERE authors IS NULL AND author IS NOT NULL;
