-- Dead letters per reason, all time.
SELECT reason, count(*) AS n, max(time) AS last FROM dead_letters GROUP BY reason ORDER BY n DESC, reason
