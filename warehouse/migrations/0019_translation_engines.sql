-- Translations come from more than one engine (Argos packages, CTranslate2 models such as
-- NLLB-200 and OPUS-MT): the engine joins the cache's key of model name and version. Rows
-- cached before were all Argos'. articles.translation_model and paragraphs.model keep their
-- form engine:name@version ("argos:ru-en@1.9", "ctranslate2:nllb-200-distilled-600M@3f1c...").
ALTER TABLE translation_cache ADD COLUMN engine VARCHAR DEFAULT 'argos';

-- The translation an article had before a better engine re-translated it, with its provenance.
CREATE TABLE translation_history (
    url                VARCHAR NOT NULL,      -- articles.url
    title_en           VARCHAR,
    text_en            VARCHAR,
    translation_model  VARCHAR NOT NULL,      -- engine:name@version of the replaced translation
    replaced_by        VARCHAR NOT NULL,      -- engine:name@version of the one that replaced it
    replaced_at        TIMESTAMPTZ NOT NULL
);
