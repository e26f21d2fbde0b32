-- The relay units of a batch (relay.go), written in the batch's
-- transaction: one row per Kafka partition of the batch that has error,
-- change or Health events. relay_batch is a temporary table of those
-- events of the batch (an Arrow view can be scanned only once);
-- {{positions}} the VALUES (topic, part, next, generation) of the batch's
-- Kafka positions. errors are the error events (but AWS Health's, which
-- the correlation reads as changes) counted per minute and per what the
-- correlation reads of them; rows are the change and Health events whole.
-- Times are epoch microseconds (m: epoch minutes).
INSERT INTO relay_outbox
SELECT 'kafka:' || p.topic, p.part, min(b.src_offset), p.next, p.generation,
       coalesce((SELECT to_json(list(e ORDER BY e)) FROM (
            SELECT epoch_ms(time) // 60000 AS m, source, service, region, cloud_provider, account_id, resource,
                   error_code, peer_service, message, severity_number, count(*) AS n
            FROM relay_batch
            WHERE src_topic = p.topic AND src_partition = p.part AND kind = 'error' AND source <> 'health'
            GROUP BY ALL) e), '[]'),
       coalesce((SELECT to_json(list(r ORDER BY r.src_offset, r.src_index)) FROM (
            SELECT event_id, epoch_us(time) AS time_us, epoch_us(observed_time) AS observed_us, source, kind,
                   service, operation, region, account_id, resource, actor, severity_number, severity_text,
                   status, error_code, message, request_id, trace_id, change_type, risk_class, peer_service,
                   CAST(attributes AS VARCHAR) AS attributes, src_offset, src_index, cloud_provider
            FROM relay_batch
            WHERE src_topic = p.topic AND src_partition = p.part AND (kind = 'change' OR source = 'health')) r), '[]')
FROM relay_batch b
JOIN (VALUES {{positions}}) p(topic, part, next, generation)
  ON b.src_topic = p.topic AND b.src_partition = p.part
GROUP BY p.topic, p.part, p.next, p.generation
