-- change_failure_rate: for each operation, service, actor and change_type,
-- how many changes in the window there were and how many "failed".
--
-- A change failed when it ranks in the top correlation.failure_top_n
-- suspects of some incident: the Go side ranks suspects and passes their
-- event ids as $failed (a VARCHAR list). Changes without a value for a
-- dimension are counted under '(none)'. Reads change_events (the change
-- events, kept by ingest beside events).
--
-- One scan and one aggregation: GROUPING SETS counts the four dimensions
-- in one pass (a UNION ALL of four readings of the changes took 3-4x as
-- long over a day of 200k changes); in each row only the grouped column is
-- not NULL.
WITH c AS (
    SELECT coalesce(operation, '(none)')   AS operation,
           coalesce(service, '(none)')     AS service,
           coalesce(actor, '(none)')       AS actor,
           coalesce(change_type, '(none)') AS change_type,
           list_contains(CAST($failed AS VARCHAR[]), event_id) AS failed
    FROM change_events
    WHERE time >= CAST($since AS TIMESTAMPTZ)
      AND time <  CAST($until AS TIMESTAMPTZ)
)
SELECT CASE WHEN grouping(operation) = 0 THEN 'operation'
            WHEN grouping(service) = 0 THEN 'service'
            WHEN grouping(actor) = 0 THEN 'actor'
            ELSE 'change_type' END                  AS dimension,
       coalesce(operation, service, actor, change_type) AS value,
       count(*) AS changes, count(*) FILTER (WHERE failed) AS failed,
       count(*) FILTER (WHERE failed) / count(*) AS rate
FROM c
GROUP BY GROUPING SETS ((operation), (service), (actor), (change_type))
ORDER BY dimension, rate DESC, changes DESC, value
