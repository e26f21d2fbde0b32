-- recent_dead_letters: the $limit most recent dead letters, without their
-- raw bytes.
SELECT time, reason, message, coalesce(format, ''), raw_size,
       coalesce(src_topic, ''), coalesce(src_partition, 0), coalesce(src_offset, 0),
       coalesce(src_file, ''), coalesce(src_index, 0)
FROM dead_letters
ORDER BY time DESC
LIMIT $limit
