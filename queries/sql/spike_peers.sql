-- spike_peers: what the errors of each spike between $peer_from and
-- $peer_to name, for grouping spikes into incidents (queries/incidents.go):
-- the peer_service of application errors, and for CloudTrail's own failed
-- calls the role that made them ('role:<name>/<session>'). NULL peer rows are
-- counted too, so the Go side knows each spike's total.
SELECT sp.service, sp.region, sp.start_m,
       coalesce(lower(e.peer_service),
                CASE WHEN e.source = 'cloudtrail' AND e.actor LIKE '%:assumed-role/%'
                     THEN 'role:' || regexp_extract(e.actor, ':assumed-role/(.*)$', 1) END, '') AS peer,
       count(*) AS n
FROM spikes sp
JOIN events e ON coalesce(e.service, '(none)') = sp.service
             AND coalesce(e.region, 'global') = sp.region
             AND epoch_ms(e.time) // 60000 BETWEEN sp.start_m AND sp.end_m
WHERE e.kind = 'error'
  AND e.time >= CAST($peer_from AS TIMESTAMPTZ)
  AND e.time <  CAST($peer_to AS TIMESTAMPTZ)
  AND sp.start_m >= $peer_from_m AND sp.start_m <= $peer_to_m
GROUP BY ALL
