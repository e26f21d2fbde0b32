-- dead_letter_counts: dead letters per reason that were written in
-- [$since, $until), the most frequent first.
SELECT reason, count(*) AS n, max(time) AS last
FROM dead_letters
WHERE time >= $since AND time < $until
GROUP BY reason
ORDER BY n DESC, reason
