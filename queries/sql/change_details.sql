-- change_details: what the changes $ids in [$since, $until) did, read from
-- their attributes (the source record, kept whole by transform): the API
-- request of a CloudTrail write (requestParameters, also inside an
-- EventBridge envelope's detail), of a Google Cloud audit log
-- (protoPayload.request) or of an Azure Activity Log entry
-- (properties.requestbody, a JSON text), the changed properties of an AWS
-- Config item (configurationItemDiff, in an EventBridge detail or a Config
-- rule's invokingEvent), and a deploy's version and previous version. Each
-- is a JSON text or NULL; Go flattens them into readable fields
-- (queries/details.go). Only the named rows are parsed, never the table.
SELECT event_id, source,
       CAST(coalesce(json_extract(attributes, '$.requestParameters'),
                     json_extract(attributes, '$.detail.requestParameters'),
                     json_extract(attributes, '$.protoPayload.request'),
                     try_cast(json_extract_string(attributes, '$.properties.requestbody') AS JSON)) AS VARCHAR) AS request,
       CAST(coalesce(json_extract(attributes, '$.configurationItemDiff.changedProperties'),
                     json_extract(attributes, '$.detail.configurationItemDiff.changedProperties'),
                     json_extract(attributes, '$.invokingEvent.configurationItemDiff.changedProperties')) AS VARCHAR) AS config_diff,
       coalesce(json_extract_string(attributes, '$."service.version"'),
                json_extract_string(attributes, '$.version')) AS version,
       json_extract_string(attributes, '$.previous_version') AS previous_version
FROM events
WHERE time >= $since AND time < $until
  AND list_contains(CAST($ids AS VARCHAR[]), event_id)
ORDER BY time, event_id
