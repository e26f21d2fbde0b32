-- series_points: the named query "series": errors and all events per
-- (service, region, minute) in the window, for charts. (The correlation
-- stages use series.sql, which groups error rows only.)
SELECT
    coalesce(service, '(none)')              AS service,
    coalesce(region, 'global')               AS region,
    epoch_ms(time) // 60000                  AS m,
    count(*) FILTER (WHERE kind = 'error')   AS errors,
    count(*)                                 AS events
FROM events
WHERE time >= CAST($since AS TIMESTAMPTZ)
  AND time <  CAST($until AS TIMESTAMPTZ)
GROUP BY ALL
ORDER BY service, region, m
