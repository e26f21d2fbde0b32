-- incident_series: spikes grouped into incidents.
--
-- Spikes of any services and regions whose time spans overlap or lie at most
-- $merge_gap_min minutes apart form one incident (gaps and islands over
-- intervals: a new incident starts when a spike starts after the latest end
-- seen so far plus the gap). An incident needs one spike of at least
-- $min_spike_minutes minutes in one series, and at least $min_excess_errors
-- errors above the series' baselines in all (two minutes just over the
-- floor of a quiet service are noise, not an outage).
--
-- incident_id is stable: 'inc-' + onset minute (UTC) + first service broken
-- (among services breaking in the same minute, the one with the highest peak).
-- It changes only if late-arriving errors move the onset or the first service.
WITH o AS (
    SELECT *,
        max(end_m) OVER (ORDER BY start_m, end_m, service, region
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM spikes
),
n AS (
    SELECT *,
        CASE WHEN prev_end IS NULL OR start_m - prev_end > $merge_gap_min THEN 1 ELSE 0 END AS new_inc
    FROM o
),
k AS (
    SELECT *,
        sum(new_inc) OVER (ORDER BY start_m, end_m, service, region ROWS UNBOUNDED PRECEDING) AS inc
    FROM n
),
-- The incident's sustained part: series whose spike lasts at least
-- $min_spike_minutes minutes. An incident without one is dropped (one noisy
-- minute here and one there is not an incident), and a short spike that ends
-- before the first sustained one (an isolated noisy minute just before the
-- outage) is left out, so it does not move the onset earlier.
grouped AS (
    SELECT *,
        min(start_m) FILTER (WHERE spike_minutes >= $min_spike_minutes) OVER (PARTITION BY inc) AS sustained_m
    FROM k
),
kept AS (
    SELECT * FROM grouped
    WHERE sustained_m IS NOT NULL
      AND (spike_minutes >= $min_spike_minutes OR end_m >= sustained_m)
),
sized AS (
    SELECT *,
        min(start_m) OVER (PARTITION BY inc)                      AS onset_m,
        arg_min(service, (start_m, -peak_errors, service)) OVER (PARTITION BY inc) AS first_service,
        sum(errors - spike_minutes * baseline) OVER (PARTITION BY inc) AS inc_excess
    FROM kept
)
SELECT
    'inc-' || strftime(make_timestamp(onset_m * 60000000), '%Y%m%d-%H%M') || '-' || first_service AS incident_id,
    service, region, start_m, end_m, spike_minutes, peak_m, peak_errors, errors, baseline, threshold,
    onset_m
FROM sized
WHERE inc_excess >= $min_excess_errors
