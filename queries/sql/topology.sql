-- topology: service dependencies inferred from the events (service depends
-- on peer), merged in Go with the topology: section of the config.
--
--   peer_service         the decoder's peer (app logs' server.address,
--                        OpenTelemetry peer.service, API endpoints)
--   message              AWS endpoints (dynamodb.us-east-1.amazonaws.com) and
--                        ARNs (arn:aws:sqs:...) named in error messages
--   config_relationship  AWS Config items: the item's service depends on the
--                        services of its related resources (AWS::EC2::... -> ec2)
-- Read over $topo_from..$topo_to: the whole window for the named query
-- "topology", each batch of incidents' look-back and spike time for
-- suspects and cascade (the errors that matter name their peers then).
-- Only error rows (a failing call names what it called) and Config items are
-- read, and messages and attributes are parsed only when a cheap LIKE
-- matches, so this stays fast on large tables.
WITH w AS (
    SELECT service, source, kind, peer_service, message, NULL::VARCHAR AS attributes
    FROM events
    WHERE kind = 'error'
      AND time >= CAST($topo_from AS TIMESTAMPTZ)
      AND time <  CAST($topo_to AS TIMESTAMPTZ)
      AND service IS NOT NULL
    UNION ALL
    SELECT service, source, kind, peer_service, NULL, CAST(attributes AS VARCHAR)
    FROM events
    WHERE source = 'config'
      AND time >= CAST($topo_from AS TIMESTAMPTZ)
      AND time <  CAST($topo_to AS TIMESTAMPTZ)
      AND service IS NOT NULL
),
peer AS (
    SELECT service AS from_service, lower(peer_service) AS to_service,
           'peer_service' AS origin, count(*) AS events
    FROM w WHERE peer_service IS NOT NULL
    GROUP BY ALL
),
msg AS (
    SELECT service AS from_service, to_service, 'message' AS origin, count(*) AS events
    FROM (
        SELECT service, lower(coalesce(
                   nullif(regexp_extract(message, '([A-Za-z0-9-]+)\.[a-z0-9-]+\.amazonaws\.com', 1), ''),
                   nullif(regexp_extract(message, 'arn:aws[a-z-]*:([a-z0-9-]+):', 1), ''))) AS to_service
        FROM w
        WHERE kind = 'error' AND (message LIKE '%amazonaws.com%' OR message LIKE '%arn:aws%')
    )
    WHERE to_service IS NOT NULL
    GROUP BY ALL
),
cfg AS (
    SELECT service AS from_service, lower(split_part(rt, '::', 2)) AS to_service,
           'config_relationship' AS origin, count(*) AS events
    FROM (
        SELECT service, unnest(CAST(coalesce(
                   json_extract_string(attributes, '$.relationships[*].resourceType'),
                   json_extract_string(attributes, '$.configurationItem.relationships[*].resourceType'))
                 AS VARCHAR[])) AS rt
        FROM w
        WHERE source = 'config' AND attributes LIKE '%relationships%'
    )
    WHERE rt LIKE 'AWS::%'
    GROUP BY ALL
)
SELECT from_service, to_service, origin, events
FROM (SELECT * FROM peer UNION ALL SELECT * FROM msg UNION ALL SELECT * FROM cfg)
WHERE to_service <> '' AND to_service <> from_service
ORDER BY from_service, to_service, origin
