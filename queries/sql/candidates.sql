-- candidates: every change from $lookback_min minutes before an incident's
-- onset to the end of its onset minute, with the raw facts its suspect score
-- is made of. The score itself, the topology distance and the evidence
-- sentence are computed in Go (queries/score.go) from these columns.
--
--   lead_minutes     onset minus change time (may be slightly negative for a
--                    change inside the onset minute)
--   service_match    the change's service is one of the broken services
--   region_match     the change's region is one of the incident's regions
--   account_match    an error of a broken series came from the change's account
--   resource_match   an error of a broken series names the change's resource
--   services_after   broken services whose first spike is at or after the
--                    change's minute (of services_total)
--   before_rate      errors/min of the broken series in the $rate_min minutes
--                    before the change's minute
--   after_rate       errors/min of the broken series from the change's minute
--                    for $rate_min minutes
WITH chg AS (
    SELECT event_id, time, source,
           coalesce(service, '(none)') AS service, operation,
           coalesce(region, 'global')  AS region,
           account_id, resource, actor, change_type, risk_class,
           epoch_ms(time) / 60000.0    AS tm,
           epoch_ms(time) // 60000     AS cm
    FROM events
    WHERE kind = 'change'
      AND time >= CAST($cand_from AS TIMESTAMPTZ)
      AND time <  CAST($until AS TIMESTAMPTZ)
),
-- each incident's look-back minutes, so that changes join on equal minutes
-- (a hash join) instead of a range condition
lookback AS (
    SELECT incident_id, onset_m, services, regions, onset_m - r.k AS cm
    FROM incidents, range(0, $lookback_min + 1) r(k)
),
pairs AS (
    SELECT l.incident_id, l.onset_m, l.services, l.regions, c.*
    FROM lookback l JOIN chg c USING (cm)
    WHERE c.tm >= l.onset_m - $lookback_min
),
-- accounts and resources named by the errors of the broken series
scope AS (
    SELECT DISTINCT s.incident_id, e.account_id, e.resource
    FROM incident_series s
    JOIN events e ON coalesce(e.service, '(none)') = s.service
                 AND coalesce(e.region, 'global') = s.region
    WHERE e.kind = 'error'
      AND e.time >= CAST($cand_from AS TIMESTAMPTZ)
      AND e.time <  CAST($until AS TIMESTAMPTZ)
      AND epoch_ms(e.time) // 60000 BETWEEN s.start_m AND s.end_m
),
firsts AS (
    SELECT incident_id, service, min(start_m) AS start_m
    FROM incident_series GROUP BY ALL
),
spread AS (
    SELECT p.incident_id, p.event_id,
           count(*) FILTER (WHERE f.start_m >= p.cm) AS services_after,
           count(*)                                  AS services_total
    FROM pairs p JOIN firsts f USING (incident_id)
    GROUP BY ALL
),
-- errors per minute summed over each incident's broken series, from the
-- earliest candidate's before-window to the latest after-window
inc_minutes AS (
    SELECT b.incident_id, s.m, sum(s.errors) AS errors
    FROM (SELECT DISTINCT incident_id, service, region, onset_m FROM incident_series) b
    JOIN series s ON s.service = b.service AND s.region = b.region
                 AND s.m >= b.onset_m - $lookback_min - $rate_min
                 AND s.m <  b.onset_m + 1 + $rate_min
    GROUP BY ALL
),
rates AS (
    SELECT p.incident_id, p.event_id,
           coalesce(sum(x.errors) FILTER (WHERE x.m <  p.cm), 0) / $rate_min AS before_rate,
           coalesce(sum(x.errors) FILTER (WHERE x.m >= p.cm), 0) / $rate_min AS after_rate
    FROM pairs p
    JOIN inc_minutes x ON x.incident_id = p.incident_id
                      AND x.m >= p.cm - $rate_min AND x.m < p.cm + $rate_min
    GROUP BY ALL
)
SELECT
    p.incident_id, p.event_id, p.time, p.source, p.service, p.operation, p.resource,
    p.actor, p.region, p.account_id, p.change_type, p.risk_class,
    p.onset_m - p.tm                                     AS lead_minutes,
    list_contains(p.services, p.service)                 AS service_match,
    list_contains(p.regions, p.region)                   AS region_match,
    EXISTS (SELECT 1 FROM scope x WHERE x.incident_id = p.incident_id
                                    AND x.account_id = p.account_id) AS account_match,
    EXISTS (SELECT 1 FROM scope x WHERE x.incident_id = p.incident_id
                                    AND x.resource = p.resource)     AS resource_match,
    sp.services_after, sp.services_total,
    coalesce(r.before_rate, 0)                           AS before_rate,
    coalesce(r.after_rate, 0)                            AS after_rate
FROM pairs p
JOIN spread sp USING (incident_id, event_id)
LEFT JOIN rates r USING (incident_id, event_id)
ORDER BY p.incident_id, p.time, p.event_id
