-- incident_series: spikes grouped into incidents.
--
-- The grouping itself is done in Go (queries/grouping.go) and handed over
-- as the TEMP table spike_groups: spikes whose time spans overlap or lie at
-- most $merge_gap_min minutes apart are candidates for one incident, split
-- into the groups that belong together (one service, or one region with
-- errors that name each other or a common peer). A group is an incident if
-- it has one spike of at least $min_spike_minutes consecutive minutes in
-- one series, and at least $min_excess_errors errors above the series'
-- baselines in all (two minutes just over the floor of a quiet service are
-- noise, not an outage).
--
-- incident_id is stable: 'inc-' + onset minute (UTC) + first service broken
-- (among services breaking in the same minute, the one with the highest
-- peer), plus the region when two incidents would get the same id. It
-- changes only if late-arriving errors move the onset or the first service.
WITH k AS (
    SELECT s.*, g.grp AS inc
    FROM spikes s JOIN spike_groups g USING (service, region, start_m)
),
-- The incident's sustained part: series whose spike has at least
-- $min_spike_minutes consecutive elevated minutes. An incident without one
-- is dropped (one noisy minute here and one there is not an incident), and
-- a short spike that ends before the first sustained one (an isolated noisy
-- minute just before the outage) is left out, so it does not move the
-- onset earlier.
grouped AS (
    SELECT *,
        min(start_m) FILTER (WHERE longest_run >= $min_spike_minutes) OVER (PARTITION BY inc) AS sustained_m
    FROM k
),
kept AS (
    SELECT * FROM grouped
    WHERE sustained_m IS NOT NULL
      AND (longest_run >= $min_spike_minutes OR end_m >= sustained_m)
),
sized AS (
    SELECT *,
        min(start_m) OVER (PARTITION BY inc)                      AS onset_m,
        arg_min(service, (start_m, -peak_errors, service)) OVER (PARTITION BY inc) AS first_service,
        arg_min(region, (start_m, -peak_errors, service)) OVER (PARTITION BY inc) AS first_region,
        sum(errors - spike_minutes * baseline) OVER (PARTITION BY inc) AS inc_excess
    FROM kept
),
named AS (
    SELECT *,
        'inc-' || strftime(make_timestamp(onset_m * 60000000), '%Y%m%d-%H%M') || '-' || first_service AS base_id
    FROM sized
    WHERE inc_excess >= $min_excess_errors
)
SELECT
    CASE WHEN count(DISTINCT inc) OVER (PARTITION BY base_id) > 1 THEN base_id || '-' || first_region ELSE base_id END AS incident_id,
    service, region, start_m, end_m, spike_minutes, peak_m, peak_errors, errors, baseline, threshold,
    onset_m, rise_m
FROM named
