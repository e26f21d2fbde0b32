-- service_activity: per service with events in [$since, $until): events,
-- errors, changes, the last error, and the errors in the window's last 10
-- minutes.
SELECT service,
       count(*) AS events,
       count(*) FILTER (WHERE kind = 'error') AS errors,
       count(*) FILTER (WHERE kind = 'change') AS changes,
       max(time) FILTER (WHERE kind = 'error') AS last_error,
       count(*) FILTER (WHERE kind = 'error' AND time >= $until::TIMESTAMPTZ - INTERVAL 10 MINUTE) AS recent_errors
FROM events
WHERE time >= $since AND time < $until AND service IS NOT NULL
GROUP BY service
ORDER BY service
