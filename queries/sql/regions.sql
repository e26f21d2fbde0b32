-- regions: each region's share of errors and changes, per incident and for
-- the whole window (incident_id '').
--
-- An incident's errors are those of its broken series from onset to the last
-- spike minute; its changes are all changes from $lookback_min minutes before
-- onset to the last spike minute (any service: a change in the region that
-- everything depends on counts). The Go side adds the warning when one region
-- holds at least correlation.confined_share of an incident's errors.
WITH inc_errors AS (
    SELECT i.incident_id, i.region, sum(s.errors) AS errors
    FROM incident_series i
    JOIN series s ON s.service = i.service AND s.region = i.region
                 AND s.m BETWEEN i.start_m AND i.end_m
    GROUP BY ALL
),
chg AS (
    SELECT coalesce(region, 'global') AS region, epoch_ms(time) // 60000 AS m
    FROM change_events
    WHERE time >= CAST($cand_from AS TIMESTAMPTZ)
      AND time <  CAST($until AS TIMESTAMPTZ)
),
inc_changes AS (
    SELECT i.incident_id, c.region, count(*) AS changes
    FROM incidents i JOIN chg c ON c.m >= i.onset_m - $lookback_min AND c.m < i.recovery_m
    GROUP BY ALL
),
per_incident AS (
    SELECT incident_id, region,
           coalesce(e.errors, 0) AS errors, coalesce(c.changes, 0) AS changes
    FROM inc_errors e FULL JOIN inc_changes c USING (incident_id, region)
),
-- the whole window: every region with errors or changes (a region with
-- changes but no errors counts too, or the change shares would be inflated)
whole AS (
    SELECT '' AS incident_id, region, coalesce(e.errors, 0) AS errors, coalesce(c.changes, 0) AS changes
    FROM (SELECT region, sum(errors) AS errors FROM series WHERE m >= $since_m GROUP BY region) e
    FULL JOIN (SELECT region, count(*) AS changes FROM chg WHERE m >= $since_m GROUP BY region) c USING (region)
),
all_rows AS (
    SELECT * FROM per_incident UNION ALL SELECT * FROM whole
)
SELECT incident_id, region, errors, changes,
       coalesce(errors / nullif(sum(errors) OVER (PARTITION BY incident_id), 0), 0)   AS error_share,
       coalesce(changes / nullif(sum(changes) OVER (PARTITION BY incident_id), 0), 0) AS change_share
FROM all_rows
WHERE errors > 0 OR changes > 0
ORDER BY incident_id = '', incident_id, errors DESC, changes DESC, region
