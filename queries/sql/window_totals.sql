-- window_totals: events, errors and changes whose time is in [$since, $until).
SELECT
    count(*)                                  AS events,
    count(*) FILTER (WHERE kind = 'error')    AS errors,
    count(*) FILTER (WHERE kind = 'change')   AS changes
FROM events
WHERE time >= $since AND time < $until
