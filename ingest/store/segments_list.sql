-- Segments of the events table for the Parquet export (segments.go): one
-- row per (UTC hour, source) with its event count, for hours that end
-- before $closed_before (epoch seconds; every hour when it is NULL).
-- hour is whole hours since 1970-01-01 UTC, so no time zone is involved.
SELECT epoch_us(time) // 3600000000 AS hour, source, count(*) AS events
FROM events
WHERE $closed_before IS NULL OR time < to_timestamp($closed_before)
GROUP BY ALL
ORDER BY ALL
