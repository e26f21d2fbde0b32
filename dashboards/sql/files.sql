-- Files loaded (faultline load): how many, records read, last update.
SELECT count(*), coalesce(sum(next_offset), 0), max(updated_at) FROM ingest_offsets WHERE source LIKE 'file:%'
