-- topology_events: the events of [$topo_from, $topo_to) of window $batch
-- that may carry dependency evidence (transform.EvidenceRow.Relevant),
-- equal ones counted (events): the part of a minute at either end of a
-- window, which edge_minutes holds only whole (sql/topology_minutes.sql).
-- Go finds the evidence in them (transform.DependencyEvidence).
SELECT CAST($batch AS BIGINT) AS b, NULL::VARCHAR AS from_service, NULL::VARCHAR AS origin, NULL::VARCHAR AS ref,
       count(*) AS events,
       source, kind, service, peer_service, message, CAST(attributes AS VARCHAR) AS attributes, actor, region
FROM events
WHERE time >= CAST($topo_from AS TIMESTAMPTZ)
  AND time <  CAST($topo_to AS TIMESTAMPTZ)
  AND (kind = 'error' OR source IN ('config', 'cloudtrail', 'alarm') OR (kind = 'change' AND service = 'elasticloadbalancing'))
GROUP BY ALL
