-- topology_assoc: the load balancer changes and alarms of one window
-- ($topo_from..$topo_to, batch $batch) that name a target group: their
-- region and attributes (sql/topology.sql reads the load balancers and
-- target groups they name together).
SELECT CAST($batch AS BIGINT) AS b, region, attributes
FROM (
    -- two scans with plain equality filters the scan applies before
    -- the attributes are cast (one with an OR cast every row of the
    -- window); the second excludes the first's rows
    SELECT region, attributes FROM events
    WHERE time >= CAST($topo_from AS TIMESTAMPTZ)
      AND time <  CAST($topo_to AS TIMESTAMPTZ)
      AND kind = 'change' AND service = 'elasticloadbalancing'
    UNION ALL
    SELECT region, attributes FROM events
    WHERE time >= CAST($topo_from AS TIMESTAMPTZ)
      AND time <  CAST($topo_to AS TIMESTAMPTZ)
      AND source = 'alarm'
      AND NOT coalesce(kind = 'change' AND service = 'elasticloadbalancing', false)
)
WHERE CAST(attributes AS VARCHAR) LIKE '%argetGroup%'
