-- error_groups: the errors of the services $services in [$since, $until),
-- grouped per service by error code (or, without one, by the message with
-- its digits folded), the $per_service largest groups of each service: the
-- count, first and last time, and a sample (the shortest message of the
-- group, with its event id and time) so a person can read what broke. The incident
-- page shows them under each suspect as the errors it explains.
WITH e AS (
    SELECT event_id, time, coalesce(service, '(none)') AS service,
           coalesce(error_code, '') AS error_code, coalesce(message, '') AS message
    FROM events
    WHERE kind = 'error' AND time >= $since AND time < $until
      AND list_contains(CAST($services AS VARCHAR[]), coalesce(service, '(none)'))
),
g AS (
    SELECT service, error_code,
           CASE WHEN error_code <> '' THEN error_code
                ELSE regexp_replace(left(message, 200), '[0-9]+', '#', 'g') END AS grp,
           count(*)                              AS errors,
           min(time)                             AS first_seen,
           max(time)                             AS last_seen,
           arg_min(message, (length(message), event_id)) AS sample,
           arg_min(event_id, (length(message), event_id)) AS sample_id,
           arg_min(time, (length(message), event_id)) AS sample_time
    FROM e
    GROUP BY service, error_code, grp
)
SELECT service, error_code, errors, first_seen, last_seen, sample, sample_id, sample_time,
       sum(errors) OVER (PARTITION BY service) AS service_errors
FROM g
QUALIFY row_number() OVER (PARTITION BY service ORDER BY errors DESC, grp) <= $per_service
ORDER BY service_errors DESC, service, errors DESC, error_code, sample
