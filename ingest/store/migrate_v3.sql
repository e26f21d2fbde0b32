-- Schema version 2 -> 3: the rows of a version 2 file, copied into a new
-- file in DuckDB storage format v1.5.0 whose schema (schema.sql, already
-- created in it as faultline_v3) stores events.attributes with ZSTD. The
-- copy runs in store.rewrite, which then renames the new file over the old
-- one (faultline_old names the old file's catalog). Columns are matched by
-- name.
INSERT INTO faultline_v3.events BY NAME SELECT * FROM faultline_old.events;
INSERT INTO faultline_v3.dead_letters BY NAME SELECT * FROM faultline_old.dead_letters;
INSERT INTO faultline_v3.ingest_offsets BY NAME SELECT * FROM faultline_old.ingest_offsets;
DELETE FROM faultline_v3.schema_version;
INSERT INTO faultline_v3.schema_version VALUES (3);
