-- Translation cache: the English of a text (a title or paragraph) per model and version, so a
-- duplicated story or a reprocess never sends the same text to a model twice.
CREATE TABLE translation_cache (
    source_hash    VARCHAR NOT NULL,   -- SHA-256 of the source text
    model          VARCHAR NOT NULL,   -- Argos pair, e.g. ru-en
    model_version  VARCHAR NOT NULL,   -- package version, e.g. 1.9
    text_en        VARCHAR NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source_hash, model, model_version)
);
-- Each non-blank paragraph of a translated article beside its English one.
CREATE TABLE paragraphs (
    url        VARCHAR NOT NULL,   -- articles.url
    position   INTEGER NOT NULL,   -- index in articles.text split on newlines
    text       VARCHAR NOT NULL,
    text_en    VARCHAR NOT NULL,
    language   VARCHAR NOT NULL,   -- the paragraph's own detected language
    model      VARCHAR,            -- e.g. argos:ru-en@1.9; NULL where it was already English
    PRIMARY KEY (url, position)
);
