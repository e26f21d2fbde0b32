-- The relay units of a batch (relay.go), written in the batch's
-- transaction: one row per Kafka partition of the batch that has events the
-- correlation reads. relay_batch is a temporary table of those events of
-- the batch (an Arrow view can be scanned only once); {{positions}} the
-- VALUES (topic, part, next, generation) of the batch's Kafka positions.
--
-- counts: per minute (m), the error events and the CloudTrail calls by
-- assumed roles (topology evidence) counted per what the correlation reads
-- of them (queries/sql: series, candidates, topology, spike_peers,
-- versions): source, kind, service, region, provider, account, resource,
-- error code, peer, message, severity, the caller role of CloudTrail
-- events (actor) and attrs, a JSON object of the attributes that name a
-- callee or a version.
-- rows: the events the correlation reads whole (changes, AWS Health, AWS
-- Config items, CloudWatch alarms), times in epoch microseconds.
INSERT INTO relay_outbox
SELECT 'kafka:' || p.topic, p.part, min(b.src_offset), p.next, p.generation,
       coalesce((SELECT to_json(list(e ORDER BY e)) FROM (
            SELECT epoch_ms(time) // 60000 AS m, source, kind, service, region, cloud_provider, account_id, resource,
                   error_code, peer_service, message, severity_number,
                   CASE WHEN source = 'cloudtrail' AND actor LIKE '%:assumed-role/%' THEN actor END AS actor,
                   CASE WHEN source <> 'cloudtrail' AND attributes IS NOT NULL THEN nullif('{' || array_to_string(list_sort(regexp_extract_all(CAST(attributes AS VARCHAR),
                       '"(?:server\.address|net\.peer\.name|url\.full|http\.url|rpc\.service|rpc\.system|db\.system|aws\.s3\.bucket|service\.version|version)"\s*:\s*"[^"]*"')), ',') || '}', '{}') END AS attrs,
                   count(*) AS n
            FROM relay_batch
            WHERE src_topic = p.topic AND src_partition = p.part AND source NOT IN ('health', 'config', 'alarm')
              AND (kind = 'error' OR (source = 'cloudtrail' AND kind <> 'change' AND actor LIKE '%:assumed-role/%'))
            GROUP BY ALL) e), '[]'),
       coalesce((SELECT to_json(list(r ORDER BY r.src_offset, r.src_index)) FROM (
            SELECT event_id, epoch_us(time) AS time_us, epoch_us(observed_time) AS observed_us, source, kind,
                   service, operation, region, account_id, resource, actor, severity_number, severity_text,
                   status, error_code, message, request_id, trace_id, change_type, risk_class, peer_service,
                   CAST(attributes AS VARCHAR) AS attributes, src_offset, src_index, cloud_provider
            FROM relay_batch
            WHERE src_topic = p.topic AND src_partition = p.part
              AND (kind = 'change' OR source IN ('health', 'config', 'alarm'))) r), '[]')
FROM relay_batch b
JOIN (VALUES {{positions}}) p(topic, part, next, generation)
  ON b.src_topic = p.topic AND b.src_partition = p.part
GROUP BY p.topic, p.part, p.next, p.generation
