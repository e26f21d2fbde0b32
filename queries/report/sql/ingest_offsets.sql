-- Where ingest stands on every source partition (current state, not windowed).
SELECT source, part, next_offset, updated_at
FROM ingest_offsets
ORDER BY source, part;
