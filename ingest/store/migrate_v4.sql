-- Schema version 3 -> 4: error_minutes, activity_minutes and change_events
-- (created by schema.sql) built from the events already in the file, with
-- the rollup statements the sink's rows are checked against (rollups.sql;
-- store.rebuildSQL empties the tables first). Each source partition becomes
-- one unit covering [0, its stored next offset). Idempotent: it starts from
-- empty tables, in one transaction.
{{rebuild}}
UPDATE schema_version SET version = 4;
