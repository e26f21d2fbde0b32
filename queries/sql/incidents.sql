-- incidents: one row per incident with onset, peak, recovery and size.
-- rise_m is where its errors began to rise (queries/spikes.go): the onset, or
-- earlier for a slow ramp; the suspects are measured against it.
--
-- The peak is the minute with the most errors summed over the incident's
-- series; total errors count every error of those series from onset to the
-- last spike minute (quiet minutes inside the incident included). Recovery is
-- the first minute after the last spike minute; an incident whose last spike
-- minute lies within $merge_gap_min minutes of the end of the data (or of
-- the window) is ongoing and has no recovery yet.
WITH minutes AS (
    SELECT i.incident_id, s.m, sum(s.errors) AS errors
    FROM incident_series i
    JOIN series s ON s.service = i.service AND s.region = i.region
                 AND s.m BETWEEN i.start_m AND i.end_m
    GROUP BY ALL
),
sizes AS (
    SELECT incident_id, arg_max(m, (errors, -m)) AS peak_m, max(errors) AS peak_errors, sum(errors) AS total_errors
    FROM minutes GROUP BY ALL
),
firsts AS (
    SELECT incident_id, service, min(start_m) AS start_m, max(peak_errors) AS peak_errors
    FROM incident_series GROUP BY ALL
),
-- the last minute with events before $until: the rollup activity_minutes
-- for the minutes before $until's, the events for the part of its minute
data_end AS (
    SELECT least(max(m), $until_m - 1) AS last_m
    FROM (
        SELECT epoch_ms(max(minute)) // 60000 AS m FROM activity_minutes WHERE minute < CAST($until_wt AS TIMESTAMPTZ)
        UNION ALL
        SELECT epoch_ms(max(time)) // 60000 FROM events
        WHERE time >= CAST($until_wt AS TIMESTAMPTZ) AND time < CAST($until AS TIMESTAMPTZ)
    )
),
spans AS (
    SELECT incident_id, min(onset_m) AS onset_m, max(end_m) AS end_m, min(rise_m) AS rise_m,
           list(DISTINCT region ORDER BY region) AS regions
    FROM incident_series GROUP BY ALL
)
SELECT
    sp.incident_id,
    sp.onset_m,
    sz.peak_m,
    sp.end_m + 1                                                AS recovery_m,
    sp.end_m >= d.last_m - $merge_gap_min                        AS ongoing,
    (SELECT list(f.service ORDER BY f.start_m, f.peak_errors DESC, f.service) FROM firsts f
      WHERE f.incident_id = sp.incident_id)                     AS services,
    sp.regions,
    sz.peak_errors,
    sz.total_errors,
    least(sp.rise_m, sp.onset_m)                                AS rise_m
FROM spans sp
JOIN sizes sz USING (incident_id), data_end d
