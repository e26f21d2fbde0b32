-- The rows of one Parquet segment (segments.go): the events of one source
-- in one UTC hour [$from, $to) (epoch seconds), in a fixed order so that a
-- re-export writes the same rows in the same order. source is left out: it
-- is a hive partition of the path (source=app/); attributes is written as
-- text (JSON), which every engine reads.
SELECT * EXCLUDE (source) REPLACE (CAST(attributes AS VARCHAR) AS attributes)
FROM events
WHERE source = $source AND time >= to_timestamp($from) AND time < to_timestamp($to)
ORDER BY time, src_topic, src_partition, src_offset, src_file, src_index, event_id
