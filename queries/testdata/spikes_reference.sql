-- The SQL the stage spikes was until queries/spikes.go replaced it (issue
-- 19 part 10), kept as the reference TestSpikesMatchTheirSQL compares the
-- Go stage with.
-- spikes: runs of spike minutes of one (service, region).
--
-- Gaps and islands: consecutive elevated minutes of a series belong to one
-- run while they are at most $merge_gap_min minutes apart (a flapping service
-- stays one spike); a run counts only if at least one of its minutes is a
-- real spike minute (is_spike). Each run keeps its first and last minute, its
-- peak, its errors, the baseline/threshold it was first tested against and
-- its longest stretch of consecutive elevated minutes (longest_run: two
-- lone noisy minutes a few minutes apart are not a sustained spike).
--
-- rise_m is where the errors began to rise, found backward from the run's
-- first minute over at most $rise_min minutes (and not into the series'
-- previous run): the minute m that maximises the sum over m..start-1 of
-- (errors - baseline - max(sd/2, 0.5)), if that sum reaches max(5, 4 sd); else the
-- run's first minute. A slow ramp crosses the spike threshold long after it
-- began, and the change that caused it came before the ramp, not before the
-- threshold was crossed (a one-sided CUSUM change point, read backward).
--
-- Elevated minutes before a run's first sustained stretch ($min_spike_minutes
-- consecutive elevated minutes) and separated from it by quiet minutes form
-- a run of their own: a lone noisy minute a few minutes before an outage is
-- not its onset (sql/incident_series.sql leaves such a short spike out of
-- the incident), though the rise of the sustained run may still reach back
-- over it.
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
),
i AS (
    SELECT *, m - row_number() OVER (PARTITION BY service, region, run ORDER BY m) AS island
    FROM r
),
c AS (
    SELECT *, count(*) OVER (PARTITION BY service, region, run, island) AS stretch
    FROM i
),
-- lead: 1 for the minutes before the run's first sustained stretch that are
-- not part of it (a run without one stays whole)
l AS (
    SELECT *,
        coalesce(m < min(m) FILTER (WHERE stretch >= $min_spike_minutes)
                        OVER (PARTITION BY service, region, run), false) AS lead
    FROM c
),
runs AS (
    SELECT
        service, region, run,
        min(m)                   AS start_m,
        max(m)                   AS end_m,
        count(*)                 AS spike_minutes,
        max(stretch)             AS longest_run,
        arg_max(m, (errors, -m)) AS peak_m, -- the earliest of tied minutes
        max(errors)              AS peak_errors,
        sum(errors)              AS errors,
        arg_min(baseline, m)     AS baseline,
        arg_min(sd, m)           AS sd,
        arg_min(threshold, m)    AS threshold
    FROM l
    GROUP BY service, region, run, lead
    HAVING bool_or(is_spike)
),
-- the end of the previous run of the series (a lead part split off the
-- same run does not count: the rise may reach back over it)
bounded AS (
    SELECT *, coalesce(max(end_m) OVER (PARTITION BY service, region ORDER BY run
                                        RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), -1) AS prev_end
    FROM runs
),
-- the minutes before each run, densified (minutes without errors count 0)
before AS (
    SELECT b.service, b.region, b.start_m, b.start_m - k AS m,
           coalesce(x.errors, 0) - b.baseline - greatest(b.sd / 2, 0.5) AS excess
    FROM bounded b
    JOIN range(1, $rise_min + 1) r(k) ON b.start_m - k > b.prev_end
    LEFT JOIN series x ON x.service = b.service AND x.region = b.region AND x.m = b.start_m - k
),
cusum AS (
    SELECT service, region, start_m, m,
           sum(excess) OVER (PARTITION BY service, region, start_m ORDER BY m DESC ROWS UNBOUNDED PRECEDING) AS cum
    FROM before
),
rise AS (
    SELECT service, region, start_m, arg_max(m, (cum, -m)) AS rise_m, max(cum) AS rise_excess
    FROM cusum GROUP BY ALL
)
SELECT b.service, b.region, b.start_m, b.end_m, b.spike_minutes, b.longest_run, b.peak_m, b.peak_errors,
       b.errors, b.baseline, b.sd, b.threshold,
       CASE WHEN x.rise_excess >= greatest(5, 4 * b.sd) THEN x.rise_m ELSE b.start_m END AS rise_m
FROM bounded b LEFT JOIN rise x USING (service, region, start_m)
