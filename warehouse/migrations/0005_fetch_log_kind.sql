-- Tell listing requests (feeds, sitemaps, API pages) from article fetches, so a run can say
-- that a source failed as a whole (no listing read) rather than an article of it.
ALTER TABLE fetch_log ADD COLUMN kind VARCHAR DEFAULT 'article';
UPDATE fetch_log SET kind = 'listing' WHERE outcome IN ('listed', 'malformed');
