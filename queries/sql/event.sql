-- event: the stored events with event id $id in [$since, $until) (one,
-- unless two sources gave the same id), every column, the attributes as
-- JSON text: the raw event behind a suspect or a sample error.
SELECT event_id, time, observed_time, source, kind,
       coalesce(service, ''), coalesce(operation, ''), coalesce(region, ''),
       coalesce(account_id, ''), coalesce(resource, ''), coalesce(actor, ''),
       coalesce(severity_number, 0), coalesce(severity_text, ''), coalesce(status, ''),
       coalesce(error_code, ''), coalesce(message, ''), coalesce(request_id, ''),
       coalesce(trace_id, ''), coalesce(change_type, ''), coalesce(risk_class, ''),
       coalesce(peer_service, ''), coalesce(cloud_provider, ''),
       coalesce(CAST(attributes AS VARCHAR), ''),
       coalesce(src_topic, ''), coalesce(src_partition, 0), coalesce(src_offset, 0),
       coalesce(src_file, ''), coalesce(src_index, 0)
FROM events
WHERE event_id = $id AND time >= $since AND time < $until
ORDER BY time, source
LIMIT 10
