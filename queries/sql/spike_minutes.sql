-- spike_minutes: each minute with errors, tested against its own series'
-- trailing baseline.
--
-- Baseline: the $baseline_min minutes ending $gap_min minutes before the
-- tested minute (RANGE frame over epoch minutes; minutes without errors have
-- no row and count as zero, so the series never has to be densified).
-- From the window's sum and sum of squares we get the mean and the standard
-- deviation of errors per minute. The threshold is the largest of
--   * $min_errors           an absolute floor: a quiet service (mean ~ 0)
--                           needs at least this many errors in a minute;
--   * $ratio * mean         a relative floor: a busy, steady service must at
--                           least multiply its rate;
--   * mean + $sigma * max(sd, sqrt(mean))
--                           a noisy service must rise well above its usual
--                           swings; sqrt(mean) is the Poisson deviation, the
--                           least spread a count series can have.
-- Near the start of the data the baseline is averaged over the history that
-- exists; with less than $min_history_min minutes of it the minute is not
-- tested (is_spike false) rather than compared with an empty baseline.
-- (Why not median/MAD: a windowed median needs every minute as a row,
-- zeros included; these running sums work on the sparse rows directly and
-- stay fast over millions of events. The floors make up for the mean's
-- sensitivity, and the hysteresis below for contamination by the spike.)
WITH err AS (
    SELECT service, region, m, errors FROM series
),
start AS (
    SELECT min(m) AS first_m FROM series
),
base AS (
    SELECT
        service, region, m, errors,
        coalesce(sum(errors) OVER w, 0)                  AS b_sum,
        coalesce(sum(errors * errors) OVER w, 0)         AS b_sumsq,
        least($baseline_min, m - $gap_min - start.first_m) AS hist
    FROM err, start
    WINDOW w AS (
        PARTITION BY service, region ORDER BY m
        RANGE BETWEEN $baseline_min + $gap_min PRECEDING AND $gap_min + 1 PRECEDING
    )
),
stats AS (
    SELECT *,
        CASE WHEN hist > 0 THEN b_sum / hist ELSE 0 END AS mean,
        CASE WHEN hist > 0 THEN greatest(b_sumsq / hist - (b_sum / hist) ^ 2, 0) ELSE 0 END AS var
    FROM base
),
tested AS (
    SELECT
        service, region, m, errors,
        round(mean, 3) AS baseline,
        round(sqrt(greatest(var, mean)), 3) AS sd,
        round(greatest($min_errors, $ratio * mean, mean + $sigma * sqrt(greatest(var, mean))), 3) AS threshold,
        hist >= $min_history_min
            AND errors >= greatest($min_errors, $ratio * mean, mean + $sigma * sqrt(greatest(var, mean)))
            AND m >= $since_m AS is_spike
    FROM stats
),
-- The threshold of the minute that started the current spike (a spike
-- minute more than $merge_gap_min minutes after the previous one).
marked AS (
    SELECT *,
        CASE WHEN is_spike AND coalesce(m - last_value(CASE WHEN is_spike THEN m END IGNORE NULLS) OVER (
                 PARTITION BY service, region ORDER BY m
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), $merge_gap_min + 1) > $merge_gap_min
             THEN threshold END AS onset_threshold
    FROM tested
)
-- Hysteresis: once a spike has started, the baseline fills up with the
-- spike's own errors and the threshold climbs, so a long outage would look
-- "recovered" after a few minutes. A minute therefore stays in the spike
-- (elevated) while its errors reach the threshold frozen at the spike's
-- first minute; spikes.sql keeps only runs that contain a real spike minute.
SELECT
    service, region, m, errors, baseline, sd, threshold, is_spike,
    is_spike OR (m >= $since_m AND errors >= last_value(onset_threshold IGNORE NULLS) OVER (
        PARTITION BY service, region ORDER BY m ROWS UNBOUNDED PRECEDING)) AS elevated
FROM marked
