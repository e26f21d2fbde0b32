-- topology_err: the error rows of one window ($topo_from..$topo_to, batch
-- $batch) that sql/topology.sql reads, counted per distinct (service,
-- peer, message, attributes): errors repeat, so each distinct one is
-- parsed once (n: how many error rows it stands for). CloudTrail's own
-- errors are left out (their ARNs name the caller).
SELECT CAST($batch AS BIGINT) AS b, service, peer_service, message, attrs, count(*) AS n
FROM (
    SELECT service, peer_service, message,
           CASE WHEN source = 'cloudwatch' THEN message
                WHEN peer_service IS NOT NULL THEN CAST(attributes AS VARCHAR) END AS attrs
    FROM events
    WHERE kind = 'error'
      AND time >= CAST($topo_from AS TIMESTAMPTZ)
      AND time <  CAST($topo_to AS TIMESTAMPTZ)
      AND service IS NOT NULL
      AND source <> 'cloudtrail'
)
GROUP BY ALL
