-- topology: evidence of dependencies in the events, one row per
-- (from_service, origin, ref) with how many events showed it. The Go side
-- (queries/topology.go) parses each ref with transform.ParseHost/ParseURL/
-- ParseARN into the service and the concrete resource it names and merges
-- the edges with the topology: section of the config.
--
--   peer_service         the decoder's peer (OpenTelemetry peer.service, or
--                        the service behind server.address ...), used when
--                        the event has none of the attributes below
--   attribute            "key":"value" of the OpenTelemetry attributes that name
--                        a callee (server.address, url.full, rpc.service,
--                        db.system ...) of application events and JSON log
--                        lines: the full host name, so the edge reaches the
--                        load balancer, table or DNS record, not only the
--                        AWS service
--   message              AWS host names, ARNs and looked-up DNS names in
--                        error messages (not in CloudTrail's own errors,
--                        whose ARNs name the caller)
--   config_relationship  AWS Config items: the item's service depends on the
--                        services of its related resources
--   cloudtrail_role      from_service is the caller's identity (an IAM role
--                        ARN), ref the AWS service it called: Go maps the
--                        role to the application service it belongs to
--   association          from_service '' and ref the load balancer and target
--                        group ARNs or dimensions one alarm or one change
--                        names together (the load balancer forwards to it)
-- Read over one or more windows, b the window's number: the whole window
-- for the named query "topology", each batch of incidents' look-back and
-- spike time for suspects and cascade (one row per window and evidence).
-- The events of each window come from the CTEs topo_err, topo_cfg,
-- topo_roles and topo_assoc that Go puts in front of this statement, one
-- UNION ALL branch per window with its own time bounds
-- (sql/topology_err.sql ...; queries/topology.go): the parsing below is
-- planned once for every window. Only error rows (a failing call names
-- what it called), CloudTrail calls by roles, Config items and load
-- balancer changes and alarms are read; messages and attributes are parsed
-- only when a cheap test matches, so this stays fast on large tables.
-- Errors repeat: the same service logs the same message with the same
-- attributes thousands of times in an outage. The error rows are counted
-- per distinct (service, peer, message, attributes) first, and each
-- distinct one is parsed once (n: how many error rows it stands for).
WITH err AS (
    SELECT * FROM topo_err
),
-- one pass over the error rows: each row gives its peer_service or
-- attribute edge and any message edges as a list of (origin, ref), unnested
-- and counted once. (Three CTEs reading one materialized err_refs had the
-- optimizer push the OR of their filters, attribute LIKEs and all, into the
-- materialization: every row's attributes were tested twice.)
err_kvs AS (
    SELECT b, service, peer_service, message, n,
           CASE WHEN attrs LIKE '%.address"%' OR attrs LIKE '%peer.name"%' OR attrs LIKE '%url.full"%' OR attrs LIKE '%http.url"%'
                  OR attrs LIKE '%rpc.service"%' OR attrs LIKE '%db.system"%' OR attrs LIKE '%s3.bucket"%'
                THEN regexp_extract_all(attrs, '"(?:server\.address|net\.peer\.name|url\.full|http\.url|rpc\.service|rpc\.system|db\.system|aws\.s3\.bucket)"\s*:\s*"[^"]*"')
           END AS kvs
    FROM err
),
-- attribute: one row per distinct set of attributes (rpc.service means an
-- AWS API only with rpc.system aws-api, so they are parsed together),
-- tab-separated; peer_service only when the event has none of them
err_edges AS (
    SELECT b, from_service, e.origin AS origin, e.ref AS ref, CAST(sum(n) AS BIGINT) AS events
    FROM (
        SELECT b, service AS from_service, n, unnest(list_concat(
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
    SELECT b, service AS from_service, 'config_relationship' AS origin, rt AS ref, count(*) AS events
    FROM topo_cfg
    WHERE rt LIKE 'AWS::%'
    GROUP BY ALL
),
roles AS (
    SELECT * FROM topo_roles
),
assoc AS (
    SELECT b, '' AS from_service, 'association' AS origin, ref, count(*) AS events
    FROM (
        SELECT b, region || chr(9) || array_to_string(list_sort(list_distinct(regexp_extract_all(CAST(attributes AS VARCHAR),
                   '(arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]*:(?:loadbalancer|listener|targetgroup)/[A-Za-z0-9_./-]+|"LoadBalancer"\s*:\s*"[^"]+"|"TargetGroup"\s*:\s*"[^"]+")'))), chr(9)) AS ref
        FROM topo_assoc
    )
    WHERE ref LIKE '%' || chr(9) || '%' || chr(9) || '%'
    GROUP BY ALL
)
SELECT b, from_service, origin, ref, events
FROM (SELECT * FROM err_edges
      UNION ALL SELECT * FROM cfg UNION ALL SELECT * FROM roles UNION ALL SELECT * FROM assoc)
WHERE ref <> ''
ORDER BY b, from_service, origin, ref
