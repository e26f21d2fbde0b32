-- topology_minutes: the dependency evidence of the whole minutes
-- [$topo_from, $topo_to) of window $batch, read from the rollup
-- edge_minutes that ingest keeps with every commit (ingest/store/rollups.sql,
-- transform.DependencyEvidence): one row per (from_service, origin, ref)
-- with how many events showed it. The rest of the columns are those of
-- sql/topology_events.sql, NULL here; queries/topology.go reads both as one
-- statement.
SELECT CAST($batch AS BIGINT) AS b, from_service, origin, ref, CAST(sum(events) AS BIGINT) AS events,
       NULL::VARCHAR AS source, NULL::VARCHAR AS kind, NULL::VARCHAR AS service, NULL::VARCHAR AS peer_service,
       NULL::VARCHAR AS message, NULL::VARCHAR AS attributes, NULL::VARCHAR AS actor, NULL::VARCHAR AS region
FROM edge_minutes
WHERE minute >= CAST($topo_from AS TIMESTAMPTZ)
  AND minute <  CAST($topo_to AS TIMESTAMPTZ)
GROUP BY from_service, origin, ref
