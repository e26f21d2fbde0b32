-- Where ingest stands per source partition.
SELECT source, part, next_offset, updated_at FROM ingest_offsets ORDER BY source, part
