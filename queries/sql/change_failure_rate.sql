-- change_failure_rate: for each operation, service, actor and change_type,
-- how many changes in the window there were and how many "failed".
--
-- A change failed when it ranks in the top correlation.failure_top_n
-- suspects of some incident: the Go side ranks suspects and passes their
-- event ids as $failed (a VARCHAR list). Changes without a value for a
-- dimension are counted under '(none)'. Reads change_events (the change
-- events, kept by ingest beside events).
WITH c AS (
    SELECT event_id,
           coalesce(operation, '(none)')   AS operation,
           coalesce(service, '(none)')     AS service,
           coalesce(actor, '(none)')       AS actor,
           coalesce(change_type, '(none)') AS change_type,
           list_contains(CAST($failed AS VARCHAR[]), event_id) AS failed
    FROM change_events
    WHERE time >= CAST($since AS TIMESTAMPTZ)
      AND time <  CAST($until AS TIMESTAMPTZ)
),
dims AS (
    SELECT 'operation' AS dimension, operation AS value, failed FROM c
    UNION ALL SELECT 'service', service, failed FROM c
    UNION ALL SELECT 'actor', actor, failed FROM c
    UNION ALL SELECT 'change_type', change_type, failed FROM c
)
SELECT dimension, value, count(*) AS changes, count(*) FILTER (WHERE failed) AS failed,
       count(*) FILTER (WHERE failed) / count(*) AS rate
FROM dims
GROUP BY ALL
ORDER BY dimension, rate DESC, changes DESC, value
