-- topology_cfg: the AWS Config items of one window ($topo_from..$topo_to,
-- batch $batch) with relationships: the resource type of each related
-- resource (sql/topology.sql).
SELECT CAST($batch AS BIGINT) AS b, service, rt
FROM (
    SELECT service, unnest(CAST(coalesce(
               json_extract_string(attributes, '$.relationships[*].resourceType'),
               json_extract_string(attributes, '$.configurationItem.relationships[*].resourceType'))
             AS VARCHAR[])) AS rt
    FROM events
    WHERE source = 'config'
      AND time >= CAST($topo_from AS TIMESTAMPTZ)
      AND time <  CAST($topo_to AS TIMESTAMPTZ)
      AND service IS NOT NULL
      AND CAST(attributes AS VARCHAR) LIKE '%relationships%'
)
