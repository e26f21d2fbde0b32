-- The most recent dead letters (raw bytes omitted). Parameter: $1 limit.
SELECT time, reason, message, coalesce(format, ''), raw_size,
       coalesce(src_topic, ''), coalesce(src_partition, 0), coalesce(src_offset, 0),
       coalesce(src_file, ''), coalesce(src_index, 0)
FROM dead_letters ORDER BY time DESC LIMIT $1
