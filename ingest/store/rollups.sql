-- Rollups: what one commit adds to error_minutes, activity_minutes and
-- change_events (schema.sql), computed from the events it inserts.
-- store.rollupSQL fills in {{events}} (a table of events) and {{ranges}} (src, part, first_offset, next_offset: the
-- position range the commit covers per source partition). An event's source
-- partition is src 'kafka:<src_topic>' or 'file:<src_file>' and part its
-- Kafka partition (0 for files), as in ingest_offsets. A partition missing
-- from {{ranges}} gets the range of its events' offsets (0 and 0 for events
-- without offsets: written by SQL, not by the sink).
-- The same statements build the tables of an older file (migrate_v4.sql),
-- of merged events (merge.go), and recompute them to check them
-- (CheckRollups). The sink computes the same rows in Go (rollup.go).
-- Statements are separated by lines '-- statement'.
-- Rows are inserted in key order, minute first (as the sink writes them:
-- rollup.go compareErrorKeys): a row group's times then stay close and
-- bit-pack into fewer bytes than rows in hash order.

-- statement
INSERT INTO error_minutes
SELECT g.src, g.part,
       coalesce(r.first_offset, min(g.lo) OVER (PARTITION BY g.src, g.part), 0),
       coalesce(r.next_offset, max(g.hi) OVER (PARTITION BY g.src, g.part), 0),
       g.minute, g.service, g.region, g.cloud_provider, g.error_code, g.peer_service, g.role,
       g.errors, g.first_time, g.last_time
FROM (
    SELECT CASE WHEN src_topic IS NOT NULL THEN 'kafka:' || src_topic ELSE 'file:' || coalesce(src_file, '') END AS src,
           coalesce(src_partition, 0) AS part,
           date_trunc('minute', time) AS minute,
           service, region, cloud_provider, error_code, peer_service,
           CASE WHEN source = 'cloudtrail' AND actor LIKE '%:assumed-role/%'
                THEN 'role:' || regexp_extract(actor, ':assumed-role/(.*)$', 1) END AS role,
           count(*) AS errors, min(time) AS first_time, max(time) AS last_time,
           min(src_offset) AS lo, max(src_offset) + 1 AS hi
    FROM {{events}}
    WHERE kind = 'error'
    GROUP BY ALL
) g
LEFT JOIN {{ranges}} r ON r.src = g.src AND r.part = g.part
ORDER BY g.src, g.part, g.minute, g.service, g.region, g.cloud_provider, g.error_code, g.peer_service, g.role;

-- statement
INSERT INTO activity_minutes
SELECT g.src, g.part,
       coalesce(r.first_offset, min(g.lo) OVER (PARTITION BY g.src, g.part), 0),
       coalesce(r.next_offset, max(g.hi) OVER (PARTITION BY g.src, g.part), 0),
       g.minute, g.service, g.region, g.cloud_provider, g.kind,
       g.events, g.first_time, g.last_time
FROM (
    SELECT CASE WHEN src_topic IS NOT NULL THEN 'kafka:' || src_topic ELSE 'file:' || coalesce(src_file, '') END AS src,
           coalesce(src_partition, 0) AS part,
           date_trunc('minute', time) AS minute,
           service, region, cloud_provider, kind,
           count(*) AS events, min(time) AS first_time, max(time) AS last_time,
           min(src_offset) AS lo, max(src_offset) + 1 AS hi
    FROM {{events}}
    GROUP BY ALL
) g
LEFT JOIN {{ranges}} r ON r.src = g.src AND r.part = g.part
ORDER BY g.src, g.part, g.minute, g.service, g.region, g.cloud_provider, g.kind;

-- statement
INSERT INTO change_events
SELECT e.* EXCLUDE (src, part, lo, hi),
       e.src, e.part,
       coalesce(r.first_offset, min(e.lo) OVER (PARTITION BY e.src, e.part), 0),
       coalesce(r.next_offset, max(e.hi) OVER (PARTITION BY e.src, e.part), 0)
FROM (
    SELECT *,
           CASE WHEN src_topic IS NOT NULL THEN 'kafka:' || src_topic ELSE 'file:' || coalesce(src_file, '') END AS src,
           coalesce(src_partition, 0) AS part,
           src_offset AS lo, src_offset + 1 AS hi
    FROM {{events}}
    WHERE kind = 'change'
) e
LEFT JOIN {{ranges}} r ON r.src = e.src AND r.part = e.part;

-- statement
-- edge_minutes: the dependency evidence in the events (what topology
-- infers its edges from), per minute and (from_service, origin, ref), as
-- transform.DependencyEvidence finds it in Go (the sink uses that; this is
-- the reference it is checked against). Error rows repeat, so each
-- distinct (service, peer, message, attributes) is parsed once and counted
-- n times; messages and attributes are parsed only when a cheap test
-- matches.
INSERT INTO edge_minutes
WITH ev AS (
    SELECT CASE WHEN src_topic IS NOT NULL THEN 'kafka:' || src_topic ELSE 'file:' || coalesce(src_file, '') END AS src,
           coalesce(src_partition, 0) AS part,
           date_trunc('minute', time) AS minute,
           src_offset, source, kind, service, peer_service, message, actor, region, attributes
    FROM {{events}}
),
rng AS (
    SELECT src, part, min(src_offset) AS lo, max(src_offset) + 1 AS hi FROM ev GROUP BY ALL
),
err AS (
    SELECT src, part, minute, service, peer_service, message, attrs, count(*) AS n
    FROM (
        SELECT src, part, minute, service, peer_service, message,
               CASE WHEN source = 'cloudwatch' THEN message
                    WHEN peer_service IS NOT NULL THEN CAST(attributes AS VARCHAR) END AS attrs
        FROM ev
        WHERE kind = 'error' AND service IS NOT NULL AND source <> 'cloudtrail'
    )
    GROUP BY ALL
),
err_kvs AS (
    SELECT src, part, minute, service, peer_service, message, n,
           CASE WHEN attrs LIKE '%.address"%' OR attrs LIKE '%peer.name"%' OR attrs LIKE '%url.full"%' OR attrs LIKE '%http.url"%'
                  OR attrs LIKE '%rpc.service"%' OR attrs LIKE '%db.system"%' OR attrs LIKE '%s3.bucket"%'
                THEN regexp_extract_all(attrs, '"(?:server\.address|net\.peer\.name|url\.full|http\.url|rpc\.service|rpc\.system|db\.system|aws\.s3\.bucket)"\s*:\s*"[^"]*"')
           END AS kvs
    FROM err
),
err_edges AS (
    SELECT src, part, minute, from_service, e.origin AS origin, e.ref AS ref, CAST(sum(n) AS BIGINT) AS events
    FROM (
        SELECT src, part, minute, service AS from_service, n, unnest(list_concat(
                   CASE WHEN len(kvs) > 0
                          THEN [{'origin': 'attribute', 'ref': array_to_string(list_sort(kvs), chr(9))}]
                        WHEN peer_service IS NOT NULL
                          THEN [{'origin': 'peer_service', 'ref': lower(peer_service)}]
                   END,
                   CASE WHEN message LIKE '%amazonaws.com%' OR message LIKE '%arn:aws%' OR message LIKE '%lookup %'
                          OR message LIKE '%UnknownHost%' OR message LIKE '%.on.aws%' OR message LIKE '%cloudfront.net%' OR message LIKE '%.api.aws%'
                        THEN list_transform(regexp_extract_all(message,
                   '(arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:[A-Za-z0-9_./:+=@-]+|[A-Za-z0-9][A-Za-z0-9.-]*\.(?:amazonaws\.com(?:\.cn)?|api\.aws|on\.aws|cloudfront\.net)|lookup [A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z]|UnknownHostException: [A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z])'),
                               r -> {'origin': 'message', 'ref': r})
                   END)) AS e
        FROM err_kvs
    )
    GROUP BY ALL
),
cfg AS (
    SELECT src, part, minute, service AS from_service, 'config_relationship' AS origin, rt AS ref, count(*) AS events
    FROM (
        SELECT src, part, minute, service, unnest(CAST(list_concat(
                   json_extract_string(attributes, '$.relationships[*].resourceType'),
                   json_extract_string(attributes, '$.configurationItem.relationships[*].resourceType'),
                   json_extract_string(attributes, '$.invokingEvent.configurationItem.relationships[*].resourceType'),
                   json_extract_string(attributes, '$.detail.configurationItem.relationships[*].resourceType'))
                 AS VARCHAR[])) AS rt
        FROM ev
        WHERE source = 'config' AND service IS NOT NULL AND CAST(attributes AS VARCHAR) LIKE '%relationships%'
    )
    WHERE rt LIKE 'AWS::%'
    GROUP BY ALL
),
-- the caller's ARN with its session name cut before the first
-- '-'-separated part that holds a digit (an id: transform.RoleCaller)
roles AS (
    SELECT src, part, minute,
           CASE WHEN actor LIKE '%:assumed-role/%/%'
                THEN regexp_extract(actor, '^(.*?:assumed-role/[^/]*/)', 1) ||
                     regexp_extract(regexp_extract(actor, ':assumed-role/[^/]*/(.*)$', 1), '^([^0-9-]+(?:-[^0-9-]+)*)(?:-|$)', 1)
                ELSE actor END AS from_service,
           'cloudtrail_role' AS origin, service AS ref, count(*) AS events
    FROM ev
    WHERE source = 'cloudtrail' AND service IS NOT NULL AND actor LIKE 'arn:aws%:assumed-role/%'
    GROUP BY ALL
),
assoc AS (
    SELECT src, part, minute, '' AS from_service, 'association' AS origin, ref, count(*) AS events
    FROM (
        SELECT src, part, minute,
               region || chr(9) || array_to_string(list_sort(list_distinct(regexp_extract_all(CAST(attributes AS VARCHAR),
                   '(arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]*:(?:loadbalancer|listener|targetgroup)/[A-Za-z0-9_./-]+|"LoadBalancer"\s*:\s*"[^"]+"|"TargetGroup"\s*:\s*"[^"]+")'))), chr(9)) AS ref
        FROM ev
        WHERE ((kind = 'change' AND service = 'elasticloadbalancing') OR source = 'alarm')
          AND CAST(attributes AS VARCHAR) LIKE '%argetGroup%'
    )
    WHERE ref LIKE '%' || chr(9) || '%' || chr(9) || '%'
    GROUP BY ALL
)
SELECT e.src, e.part, coalesce(r.first_offset, g.lo, 0), coalesce(r.next_offset, g.hi, 0),
       e.minute, e.from_service, e.origin, e.ref, e.events
FROM (SELECT * FROM err_edges UNION ALL SELECT * FROM cfg UNION ALL SELECT * FROM roles UNION ALL SELECT * FROM assoc) e
JOIN rng g ON g.src = e.src AND g.part = e.part
LEFT JOIN {{ranges}} r ON r.src = e.src AND r.part = e.part
WHERE e.ref <> ''
ORDER BY e.src, e.part, e.minute, e.from_service, e.origin, e.ref;
