-- Provenance set apart from an article's text by processing/boilerplate.py: the attribution
-- lines ("Translated automatically via Google translate from <url>", "原文：<url>",
-- "Источник: ...", author and source lines), the origin URL they give, and the kind of
-- disclaimer dropped from the text (foreign_agent, publisher_notice), NULL where none.
ALTER TABLE articles ADD COLUMN attribution VARCHAR;
ALTER TABLE articles ADD COLUMN attribution_url VARCHAR;
ALTER TABLE articles ADD COLUMN disclaimer VARCHAR;
