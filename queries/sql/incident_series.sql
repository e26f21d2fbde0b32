-- incident_series: spikes grouped into incidents.
--
-- Spikes of any services and regions whose time spans overlap or lie at most
-- $merge_gap_min minutes apart form one incident (gaps and islands over
-- intervals: a new incident starts when a spike starts after the latest end
-- seen so far plus the gap). Incidents with fewer than $min_spike_minutes
-- spike minutes in all are dropped (one noisy minute is not an incident).
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
sized AS (
    SELECT *,
        min(start_m) OVER (PARTITION BY inc)                      AS onset_m,
        arg_min(service, (start_m, -peak_errors, service)) OVER (PARTITION BY inc) AS first_service,
        sum(spike_minutes) OVER (PARTITION BY inc)                AS inc_spike_minutes
    FROM k
)
SELECT
    'inc-' || strftime(make_timestamp(onset_m * 60000000), '%Y%m%d-%H%M') || '-' || first_service AS incident_id,
    service, region, start_m, end_m, spike_minutes, peak_m, peak_errors, errors, baseline, threshold,
    onset_m
FROM sized
WHERE inc_spike_minutes >= $min_spike_minutes
