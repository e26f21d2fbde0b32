-- top_errors: the $limit (service, error_code) pairs with the most errors in
-- [$since, $until). Missing values read as "(none)" so they group and sort
-- like any other.
SELECT
    coalesce(service, '(none)')    AS service,
    coalesce(error_code, '(none)') AS error_code,
    count(*)                       AS errors,
    min(time)                      AS first_seen,
    max(time)                      AS last_seen
FROM events
WHERE kind = 'error' AND time >= $since AND time < $until
GROUP BY 1, 2
ORDER BY errors DESC, service, error_code
LIMIT $limit
