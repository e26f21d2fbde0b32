-- Rollups: what one commit adds to error_minutes, activity_minutes and
-- change_events (schema.sql), computed from the events it inserts.
-- store.rollupSQL fills in {{events}} (a table of events) and {{ranges}} (src, part, first_offset, next_offset: the
-- position range the commit covers per source partition). An event's source
-- partition is src 'kafka:<src_topic>' or 'file:<src_file>' and part its
-- Kafka partition (0 for files), as in ingest_offsets. A partition missing
-- from {{ranges}} gets the range of its events' offsets (0 and 0 for events
-- without offsets: written by SQL, not by the sink).
-- The same statements build the tables of an older file (migrate_v4.sql),
-- of merged events (merge.go), and recompute them to check them
-- (CheckRollups). The sink computes the same rows in Go (rollup.go).
-- Statements are separated by lines '-- statement'.
-- Rows are inserted in key order, minute first (as the sink writes them:
-- rollup.go compareErrorKeys): a row group's times then stay close and
-- bit-pack into fewer bytes than rows in hash order.

-- statement
INSERT INTO error_minutes
SELECT g.src, g.part,
       coalesce(r.first_offset, min(g.lo) OVER (PARTITION BY g.src, g.part), 0),
       coalesce(r.next_offset, max(g.hi) OVER (PARTITION BY g.src, g.part), 0),
       g.minute, g.service, g.region, g.cloud_provider, g.error_code, g.peer_service, g.role,
       g.errors, g.first_time, g.last_time
FROM (
    SELECT CASE WHEN src_topic IS NOT NULL THEN 'kafka:' || src_topic ELSE 'file:' || coalesce(src_file, '') END AS src,
           coalesce(src_partition, 0) AS part,
           date_trunc('minute', time) AS minute,
           service, region, cloud_provider, error_code, peer_service,
           CASE WHEN source = 'cloudtrail' AND actor LIKE '%:assumed-role/%'
                THEN 'role:' || regexp_extract(actor, ':assumed-role/(.*)$', 1) END AS role,
           count(*) AS errors, min(time) AS first_time, max(time) AS last_time,
           min(src_offset) AS lo, max(src_offset) + 1 AS hi
    FROM {{events}}
    WHERE kind = 'error'
    GROUP BY ALL
) g
LEFT JOIN {{ranges}} r ON r.src = g.src AND r.part = g.part
ORDER BY g.src, g.part, g.minute, g.service, g.region, g.cloud_provider, g.error_code, g.peer_service, g.role;

-- statement
INSERT INTO activity_minutes
SELECT g.src, g.part,
       coalesce(r.first_offset, min(g.lo) OVER (PARTITION BY g.src, g.part), 0),
       coalesce(r.next_offset, max(g.hi) OVER (PARTITION BY g.src, g.part), 0),
       g.minute, g.service, g.region, g.cloud_provider, g.kind,
       g.events, g.first_time, g.last_time
FROM (
    SELECT CASE WHEN src_topic IS NOT NULL THEN 'kafka:' || src_topic ELSE 'file:' || coalesce(src_file, '') END AS src,
           coalesce(src_partition, 0) AS part,
           date_trunc('minute', time) AS minute,
           service, region, cloud_provider, kind,
           count(*) AS events, min(time) AS first_time, max(time) AS last_time,
           min(src_offset) AS lo, max(src_offset) + 1 AS hi
    FROM {{events}}
    GROUP BY ALL
) g
LEFT JOIN {{ranges}} r ON r.src = g.src AND r.part = g.part
ORDER BY g.src, g.part, g.minute, g.service, g.region, g.cloud_provider, g.kind;

-- statement
INSERT INTO change_events
SELECT e.* EXCLUDE (src, part, lo, hi),
       e.src, e.part,
       coalesce(r.first_offset, min(e.lo) OVER (PARTITION BY e.src, e.part), 0),
       coalesce(r.next_offset, max(e.hi) OVER (PARTITION BY e.src, e.part), 0)
FROM (
    SELECT *,
           CASE WHEN src_topic IS NOT NULL THEN 'kafka:' || src_topic ELSE 'file:' || coalesce(src_file, '') END AS src,
           coalesce(src_partition, 0) AS part,
           src_offset AS lo, src_offset + 1 AS hi
    FROM {{events}}
    WHERE kind = 'change'
) e
LEFT JOIN {{ranges}} r ON r.src = e.src AND r.part = e.part;
