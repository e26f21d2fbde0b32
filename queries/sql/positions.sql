-- positions: where ingest stands (current state, not windowed): one row per
-- Kafka topic partition (source "kafka:<topic>"), and one row, source
-- "files", for all loaded files together (files = how many, next_offset =
-- records read from them in all).
SELECT
    CASE WHEN source LIKE 'file:%' THEN 'files' ELSE source END AS source,
    CASE WHEN source LIKE 'file:%' THEN 0 ELSE part END         AS part,
    sum(next_offset)::BIGINT                                     AS next_offset,
    max(updated_at)                                              AS updated_at,
    count(*) FILTER (WHERE source LIKE 'file:%')                 AS files
FROM ingest_offsets
GROUP BY 1, 2
ORDER BY 1, 2
