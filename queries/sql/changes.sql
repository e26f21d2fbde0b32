-- changes: the change events in [$since, $until), newest first, filtered by
-- exact values; an empty filter value matches everything. At most $limit.
-- (The changes page and /api/changes.)
SELECT event_id, time, source, coalesce(service, ''), coalesce(operation, ''),
       coalesce(region, ''), coalesce(account_id, ''), coalesce(resource, ''),
       coalesce(actor, ''), coalesce(change_type, ''), coalesce(risk_class, ''),
       coalesce(status, ''), coalesce(message, '')
FROM changes
WHERE time >= $since AND time < $until
  AND ($service = '' OR service = $service)
  AND ($operation = '' OR operation = $operation)
  AND ($actor = '' OR actor = $actor)
  AND ($region = '' OR region = $region)
  AND ($change_type = '' OR change_type = $change_type)
  AND ($risk_class = '' OR risk_class = $risk_class)
ORDER BY time DESC, event_id
LIMIT $limit
