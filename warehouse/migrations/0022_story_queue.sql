-- The articles whose story must be (re)computed: every path that changes an article's English
-- text (a new article, a revision, a reprocess, a translation, an edition link) queues it, and
-- story assignment takes its work from here, so finding it costs what is queued, not the size
-- of the warehouse (warehouse/stories.py). A URL may be queued more than once.
CREATE TABLE IF NOT EXISTS story_queue (
    url        VARCHAR NOT NULL,
    queued_at  TIMESTAMPTZ NOT NULL
);

-- The feature version whose sweep filled the queue: empty, or another than the code's (an
-- upgrade), the next assignment compares every article's fingerprint with its features once
-- and queues those that differ.
CREATE TABLE IF NOT EXISTS story_swept (
    feature_version  SMALLINT NOT NULL
);
