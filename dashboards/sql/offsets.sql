-- Where ingest stands per Kafka partition.
SELECT source, part, next_offset, updated_at FROM ingest_offsets WHERE source LIKE 'kafka:%' ORDER BY source, part
