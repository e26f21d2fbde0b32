-- change_nodes: the changes (and open AWS Health issues) of a candidates
-- batch whose service may touch what the broken services depend on
-- ($svcs: the services of the resources the topology reaches from them, as
-- load balancers, tables, records, roles; route53 for a DNS record), with
-- what Go needs to parse the resources they touched (queries/nodes.go):
-- region, resource and attributes. Read before sql/candidates.sql, so the
-- prefilter there already knows which changes touched a reached resource.
-- The changes come from change_events, the Health issues from events.
SELECT event_id, coalesce(region, 'global'), coalesce(resource, ''), coalesce(CAST(attributes AS VARCHAR), '')
FROM change_events
WHERE time >= CAST($chg_from AS TIMESTAMPTZ)
  AND time <  CAST($chg_to AS TIMESTAMPTZ)
  AND list_contains(CAST($svcs AS VARCHAR[]), service)
UNION ALL
SELECT event_id, coalesce(region, 'global'), coalesce(resource, ''), coalesce(CAST(attributes AS VARCHAR), '')
FROM events
WHERE kind = 'error' AND source = 'health'
  AND time >= CAST($chg_from AS TIMESTAMPTZ)
  AND time <  CAST($chg_to AS TIMESTAMPTZ)
  AND list_contains(CAST($svcs AS VARCHAR[]), service)
