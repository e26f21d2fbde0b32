-- candidate_changes: the changes of one batch of incidents
-- ($chg_from..$chg_to: every incident's look-back), appended by Go to the
-- session's temp table cand_chg (queries/score.go) before sql/candidates.sql
-- reads all batches at once. Tight time bounds per batch, so DuckDB skips
-- every row group outside them. A change is kind 'change' (CloudTrail
-- writes, Config items, deploys, Health scheduled changes) or an open AWS
-- Health issue (source 'health', kind 'error': the provider's own incident,
-- seen nowhere else). rid tells the rows apart (an event id may repeat:
-- CloudTrail can deliver an event twice): its row in change_events, or in
-- events for a Health issue.
SELECT rowid * 2 AS rid, event_id, time, source,
       coalesce(service, '(none)') AS service, operation,
       coalesce(region, 'global')  AS region,
       account_id, resource, actor,
       change_type, risk_class, attributes,
       epoch_ms(time) / 60000.0    AS tm,
       epoch_ms(time) // 60000     AS cm,
       coalesce(cloud_provider, '') AS cloud_provider
FROM change_events
WHERE time >= CAST($chg_from AS TIMESTAMPTZ)
  AND time <  CAST($chg_to AS TIMESTAMPTZ)
UNION ALL
-- an open Health issue once, though AWS publishes updates of it: the
-- first published (time is its startTime, which may precede the
-- publication by many minutes)
SELECT rowid * 2 + 1, event_id, time, source, coalesce(service, '(none)'), operation, coalesce(region, 'global'),
       account_id, resource, actor, coalesce(change_type, 'provider'), coalesce(risk_class, 'critical'),
       NULL, epoch_ms(time) / 60000.0, epoch_ms(time) // 60000, coalesce(cloud_provider, '')
FROM events
WHERE kind = 'error' AND source = 'health'
  AND time >= CAST($chg_from AS TIMESTAMPTZ)
  AND time <  CAST($chg_to AS TIMESTAMPTZ)
QUALIFY row_number() OVER (
    PARTITION BY coalesce(json_extract_string(attributes, '$.detail.eventArn'), event_id)
    ORDER BY try_strptime(json_extract_string(attributes, '$.detail.lastUpdatedTime'), '%a, %d %b %Y %H:%M:%S GMT') NULLS LAST,
             observed_time, event_id) = 1
