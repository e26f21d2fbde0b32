-- data_version: changes whenever a commit lands. Every write to the events
-- goes through ingest's exactly-once commit, which adds or advances an
-- ingest_offsets row and stamps it with the commit time in the same
-- transaction; so an answer computed at one version stays true while the
-- version is unchanged.
SELECT count(*)::VARCHAR || '/' || coalesce(sum(next_offset), 0)::VARCHAR || '/' ||
       coalesce(max(updated_at)::VARCHAR, '')
FROM ingest_offsets
