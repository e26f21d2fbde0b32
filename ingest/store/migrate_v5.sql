-- Schema version 4 -> 5: edge_minutes (created by schema.sql), the
-- dependency evidence per minute, built from the events already in the
-- file with the statement the sink's rows are checked against
-- (rollups.sql; store.rebuildEdgesSQL empties the table first). Each
-- source partition becomes one unit covering [0, its stored next offset).
-- It reads every event once (2-3 minutes per 100M events on 2 cores).
{{rebuild}}
UPDATE schema_version SET version = 5;
