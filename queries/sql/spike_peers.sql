-- spike_peers: what the errors of each spike between $peer_from and
-- $peer_to name, for grouping spikes into incidents (queries/grouping.go):
-- the peer_service of application errors, and for CloudTrail's own failed
-- calls the role that made them ('role:<name>/<session>'). NULL peer rows are
-- counted too, so the Go side knows each spike's total. The errors are
-- counted per minute first, then joined with the spikes. They come from the
-- rollup error_minutes (role: the CloudTrail assumed role, derived from
-- actor as above by ingest); $peer_from and $peer_to are whole minutes.
WITH e AS (
    SELECT coalesce(service, '(none)') AS service, coalesce(region, 'global') AS region, epoch_ms(minute) // 60000 AS m,
           coalesce(peer_service, role, '') AS peer,
           CAST(sum(errors) AS BIGINT) AS n
    FROM error_minutes
    WHERE minute >= CAST($peer_from AS TIMESTAMPTZ)
      AND minute <  CAST($peer_to AS TIMESTAMPTZ)
    GROUP BY ALL
)
SELECT sp.service, sp.region, sp.start_m, e.peer, sum(e.n) AS n
FROM spikes sp
JOIN e ON e.service = sp.service AND e.region = sp.region AND e.m BETWEEN sp.start_m AND sp.end_m
WHERE sp.start_m >= $peer_from_m AND sp.start_m <= $peer_to_m
GROUP BY ALL
