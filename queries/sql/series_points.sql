-- series_points: the named query "series": errors and all events per
-- (service, region, minute) in the window, for charts. (The correlation
-- stages use series.sql, which groups error rows only.) The whole minutes
-- [$since_wf, $since_wt) come from the rollup activity_minutes, the parts
-- of a minute at either end of the window from the events (as series.sql).
-- Rows come in no particular order: Engine.Series orders them by service,
-- region and m in Go (queries/series.go: a sort on the two names here took
-- twice as long as the aggregation).
SELECT service, region, m, CAST(sum(errors) AS BIGINT) AS errors, CAST(sum(events) AS BIGINT) AS events
FROM (
    SELECT coalesce(service, '(none)') AS service, coalesce(region, 'global') AS region,
           epoch_ms(minute) // 60000 AS m,
           CASE WHEN kind = 'error' THEN events ELSE 0 END AS errors, events
    FROM activity_minutes
    WHERE minute >= CAST($since_wf AS TIMESTAMPTZ)
      AND minute <  CAST($since_wt AS TIMESTAMPTZ)
    UNION ALL
    SELECT coalesce(service, '(none)'), coalesce(region, 'global'), epoch_ms(time) // 60000,
           CASE WHEN kind = 'error' THEN 1 ELSE 0 END, 1
    FROM events
    WHERE time >= CAST($since AS TIMESTAMPTZ) AND time < CAST($since_wf AS TIMESTAMPTZ)
    UNION ALL
    SELECT coalesce(service, '(none)'), coalesce(region, 'global'), epoch_ms(time) // 60000,
           CASE WHEN kind = 'error' THEN 1 ELSE 0 END, 1
    FROM events
    WHERE time >= CAST($since_wt AS TIMESTAMPTZ) AND time < CAST($until AS TIMESTAMPTZ)
)
GROUP BY ALL
