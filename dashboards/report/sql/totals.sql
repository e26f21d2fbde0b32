-- Events, errors and changes whose time is in [$1, $2).
SELECT
    count(*)                                  AS events,
    count(*) FILTER (WHERE kind = 'error')    AS errors,
    count(*) FILTER (WHERE kind = 'change')   AS changes
FROM events
WHERE time >= $1 AND time < $2;
