-- series: errors per (service, region, minute).
--
-- Stage 1 of the correlation. Every later stage reads this per-minute
-- aggregate instead of the events table, so the expensive scan happens once,
-- and only error rows are grouped (a minute without errors has no row and
-- counts as zero everywhere below).
-- It reads from $base_from (= since minus the spike baseline window) so that
-- the first minutes of the asked window have a baseline too.
--
-- The whole minutes of [$base_from, $until), [$base_wf, $base_wt), come
-- from the rollup error_minutes that ingest keeps with every commit
-- (docs/schema.md, Rollups; several rows of one minute add up); the parts
-- of a minute at either end of the window, when a bound is not on a minute,
-- are counted from the events, so the series is the same as counting the
-- events of the window.
--
-- m is the minute as epoch minutes (BIGINT): integer arithmetic keeps the
-- window frames of the next stages cheap and free of time-zone rules.
-- Missing service or region: '(none)' and 'global' (IAM, S3 control plane...).
SELECT service, region, m, CAST(sum(errors) AS BIGINT) AS errors
FROM (
    SELECT coalesce(service, '(none)') AS service, coalesce(region, 'global') AS region,
           epoch_ms(minute) // 60000 AS m, errors
    FROM error_minutes
    WHERE minute >= CAST($base_wf AS TIMESTAMPTZ)
      AND minute <  CAST($base_wt AS TIMESTAMPTZ)
    UNION ALL
    SELECT coalesce(service, '(none)'), coalesce(region, 'global'), epoch_ms(time) // 60000, 1
    FROM events
    WHERE kind = 'error'
      AND time >= CAST($base_from AS TIMESTAMPTZ)
      AND time <  CAST($base_wf AS TIMESTAMPTZ)
    UNION ALL
    SELECT coalesce(service, '(none)'), coalesce(region, 'global'), epoch_ms(time) // 60000, 1
    FROM events
    WHERE kind = 'error'
      AND time >= CAST($base_wt AS TIMESTAMPTZ)
      AND time <  CAST($until AS TIMESTAMPTZ)
)
GROUP BY ALL
