-- Schema version 3 -> 4: error_minutes, activity_minutes and change_events
-- (created by schema.sql) built from the events already in the file, with
-- the rollup statements the sink runs on every commit (rollups.sql). Each
-- source partition becomes one unit covering [0, its stored next offset).
-- Idempotent: it starts from empty tables, so it runs again whole if a
-- crash interrupted it (it runs in one transaction anyway).
DELETE FROM error_minutes;
DELETE FROM activity_minutes;
DELETE FROM change_events;
{{rollups}}
UPDATE schema_version SET version = 4;
