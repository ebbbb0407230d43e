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
UPDATE articles SET authors = [author] WHERE authors IS NULL AND author IS NOT NULL;
