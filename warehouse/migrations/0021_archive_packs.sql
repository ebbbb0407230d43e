-- Raw bodies are written a pack a commit (warehouse/archive.py): the commit's new bodies' zstd
-- frames one after another in one file, `packs/<day>/<uuid>.pack` under the archive, instead of
-- a file a body. A row names its pack (relative to the archive) and where its frame starts;
-- its length is stored_size. Rows written before have no pack: their bodies keep their own
-- files, `ab/cd/<sha256>.zst`, and are read there.
ALTER TABLE raw_archive ADD COLUMN IF NOT EXISTS pack VARCHAR;
ALTER TABLE raw_archive ADD COLUMN IF NOT EXISTS pack_offset BIGINT;
