-- Dead letters per reason that were written in [$1, $2).
SELECT reason, count(*) AS n, max(time) AS last
FROM dead_letters
WHERE time >= $1 AND time < $2
GROUP BY reason
ORDER BY n DESC, reason;
