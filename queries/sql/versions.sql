-- versions: for each deploy of a candidates batch ($chg_from..$chg_to), in
-- each incident of the batch that broke the deployed service, the share of
-- that service's first errors (its spikes in the first $rate_min minutes of
-- the incident) after the deploy that carry the deploy's new version
-- (service.version, or version). Go runs it only for batches with deploys
-- and hands the shares to sql/candidates.sql: a bad deploy is recognised by
-- the errors that carry its version.
WITH deploys AS (
    SELECT event_id, service, epoch_ms(time) // 60000 AS cm,
           json_extract_string(attributes, '$.version') AS version
    FROM change_events
    WHERE source = 'deploy'
      AND time >= CAST($chg_from AS TIMESTAMPTZ)
      AND time <  CAST($chg_to AS TIMESTAMPTZ)
      AND service IS NOT NULL
),
batch_series AS (
    SELECT * FROM incident_series
    WHERE list_contains(CAST($incident_ids AS VARCHAR[]), incident_id)
      AND service IN (SELECT service FROM deploys)
),
errs AS (
    SELECT s.incident_id, s.service, epoch_ms(e.time) // 60000 AS m,
           coalesce(json_extract_string(e.attributes, '$."service.version"'),
                    json_extract_string(e.attributes, '$.version')) AS version
    FROM batch_series s
    JOIN events e ON e.service = s.service AND coalesce(e.region, 'global') = s.region
                 AND epoch_ms(e.time) // 60000 BETWEEN s.start_m AND s.end_m
    WHERE e.kind = 'error'
      AND e.time >= CAST($err_from AS TIMESTAMPTZ)
      AND e.time <  CAST($err_to AS TIMESTAMPTZ)
      AND epoch_ms(e.time) // 60000 < s.onset_m + $rate_min
)
SELECT x.incident_id, d.event_id, coalesce(d.version, ''),
       count(*) FILTER (WHERE x.version = d.version) / count(*) AS share
FROM deploys d JOIN errs x ON x.service = d.service AND x.m >= d.cm
WHERE d.version IS NOT NULL
GROUP BY ALL
