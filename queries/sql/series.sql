-- series: errors per (service, region, minute).
--
-- Stage 1 of the correlation. Every later stage reads this per-minute
-- aggregate instead of the events table, so the expensive scan happens once,
-- and only error rows are grouped (a minute without errors has no row and
-- counts as zero everywhere below).
-- It reads from $base_from (= since minus the spike baseline window) so that
-- the first minutes of the asked window have a baseline too.
--
-- m is the minute as epoch minutes (BIGINT): integer arithmetic keeps the
-- window frames of the next stages cheap and free of time-zone rules.
-- Missing service or region: '(none)' and 'global' (IAM, S3 control plane...).
SELECT
    coalesce(service, '(none)')  AS service,
    coalesce(region, 'global')   AS region,
    epoch_ms(time) // 60000      AS m,
    count(*)                     AS errors
FROM events
WHERE kind = 'error'
  AND time >= CAST($base_from AS TIMESTAMPTZ)
  AND time <  CAST($until AS TIMESTAMPTZ)
GROUP BY ALL
