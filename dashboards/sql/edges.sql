-- Dependencies seen in the events themselves (service -> peer_service), in a
-- window. Parameters: $1 since, $2 until.
SELECT service, peer_service, count(*) AS events
FROM events
WHERE time >= $1 AND time < $2
  AND service IS NOT NULL AND peer_service IS NOT NULL AND service <> peer_service
GROUP BY service, peer_service
ORDER BY service, peer_service
