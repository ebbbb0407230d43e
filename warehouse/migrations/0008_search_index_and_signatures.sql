-- Search without a rebuild per run: an inverted index of pre-tokenized terms that
-- warehouse/search.py keeps in step with the articles, BM25 computed at query time.
-- It replaces the fts extension's index, which had to be rebuilt over every article.
DROP SCHEMA IF EXISTS fts_main_articles CASCADE;

-- One row per indexed story: its fingerprint (what refresh compares to find changed
-- articles), original language, and length in terms (BM25's document length).
CREATE TABLE search_docs (
    url          VARCHAR NOT NULL,
    fingerprint  UBIGINT NOT NULL,
    language     VARCHAR,
    terms        INTEGER NOT NULL
);

-- How often each term (a stem, or a Chinese/Japanese/Korean character or bigram) occurs in
-- each story's original and English title and text together.
CREATE TABLE search_postings (
    term  VARCHAR NOT NULL,
    url   VARCHAR NOT NULL,
    tf    INTEGER NOT NULL
);

-- MinHash signatures are now computed from vectorized word hashes (version 2); those stored
-- before are version 1 and get recomputed, keeping their clusters, on the next assignment.
ALTER TABLE story_clusters ADD COLUMN signature_version SMALLINT DEFAULT 1;
