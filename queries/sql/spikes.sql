-- spikes: runs of spike minutes of one (service, region).
--
-- Gaps and islands: consecutive elevated minutes of a series belong to one
-- run while they are at most $merge_gap_min minutes apart (a flapping service
-- stays one spike); a run counts only if at least one of its minutes is a
-- real spike minute (is_spike). Each run keeps its first and last minute, its
-- peak, its errors and the baseline/threshold it was first tested against.
WITH s AS (
    SELECT * FROM spike_minutes WHERE elevated
),
g AS (
    SELECT *,
        CASE WHEN m - lag(m) OVER (PARTITION BY service, region ORDER BY m) <= $merge_gap_min
             THEN 0 ELSE 1 END AS new_run
    FROM s
),
r AS (
    SELECT *,
        sum(new_run) OVER (PARTITION BY service, region ORDER BY m ROWS UNBOUNDED PRECEDING) AS run
    FROM g
)
SELECT
    service, region,
    min(m)                   AS start_m,
    max(m)                   AS end_m,
    count(*)                 AS spike_minutes,
    arg_max(m, errors)       AS peak_m,
    max(errors)              AS peak_errors,
    sum(errors)              AS errors,
    arg_min(baseline, m)     AS baseline,
    arg_min(threshold, m)    AS threshold
FROM r
GROUP BY service, region, run
HAVING bool_or(is_spike)
