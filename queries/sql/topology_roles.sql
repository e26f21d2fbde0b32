-- topology_roles: the CloudTrail calls of one window ($topo_from..$topo_to,
-- batch $batch) made by assumed roles, counted per (role, service called)
-- (sql/topology.sql).
SELECT CAST($batch AS BIGINT) AS b, actor AS from_service, 'cloudtrail_role' AS origin, service AS ref, count(*) AS events
FROM events
WHERE source = 'cloudtrail'
  AND time >= CAST($topo_from AS TIMESTAMPTZ)
  AND time <  CAST($topo_to AS TIMESTAMPTZ)
  AND service IS NOT NULL
  AND actor LIKE 'arn:aws%:assumed-role/%'
GROUP BY ALL
