-- Per service in a window: events, errors, changes, last error, and errors
-- in the window's last 10 minutes. Parameters: $1 since, $2 until.
SELECT service,
       count(*) AS events,
       count(*) FILTER (WHERE kind = 'error') AS errors,
       count(*) FILTER (WHERE kind = 'change') AS changes,
       max(time) FILTER (WHERE kind = 'error') AS last_error,
       count(*) FILTER (WHERE kind = 'error' AND time >= $2::TIMESTAMPTZ - INTERVAL 10 MINUTE) AS recent_errors
FROM events
WHERE time >= $1 AND time < $2 AND service IS NOT NULL
GROUP BY service
ORDER BY service
