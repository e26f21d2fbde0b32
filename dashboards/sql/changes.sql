-- Changes in a window, newest first, filtered by exact values; an empty
-- filter matches everything. Parameters: $1 since, $2 until, $3 service,
-- $4 operation, $5 actor, $6 region, $7 change_type, $8 risk_class, $9 limit.
SELECT event_id, time, source, coalesce(service, ''), coalesce(operation, ''),
       coalesce(region, ''), coalesce(account_id, ''), coalesce(resource, ''),
       coalesce(actor, ''), coalesce(change_type, ''), coalesce(risk_class, ''),
       coalesce(status, ''), coalesce(message, '')
FROM changes
WHERE time >= $1 AND time < $2
  AND ($3 = '' OR service = $3)
  AND ($4 = '' OR operation = $4)
  AND ($5 = '' OR actor = $5)
  AND ($6 = '' OR region = $6)
  AND ($7 = '' OR change_type = $7)
  AND ($8 = '' OR risk_class = $8)
ORDER BY time DESC, event_id
LIMIT $9
