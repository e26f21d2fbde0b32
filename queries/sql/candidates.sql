-- candidates: every change from $lookback_min minutes before an incident's
-- onset to the end of its onset minute, with the raw facts its suspect score
-- is made of. The score itself, the topology distance and the evidence
-- sentence are computed in Go (queries/score.go) from these columns.
--
-- The look-back is measured from where the incident's errors began to rise
-- (rise_m: the onset, or earlier for a slow ramp).
--
-- A change is kind 'change' (CloudTrail writes, Config items, deploys, Health
-- scheduled changes) or an open AWS Health issue (source 'health', kind
-- 'error': the provider's own incident, seen nowhere else).
--
--   lead_minutes     onset minus change time (may be slightly negative for a
--                    change inside the onset minute)
--   rise_lead        the same from where the errors began to rise: negative
--                    for a change made while the errors were already rising
--   service_match    the change's service is one of the broken services
--   region_match     the change's region is one of the incident's regions
--   account_match    an error of a broken series came from the change's account
--   resource_match   an error of a broken series names the change's resource
--                    (resource column equal, or the resource's last path
--                    segment, e.g. the role name of an IAM role ARN, inside
--                    one of the first distinct error messages, 500 at most)
--   services_after   broken services whose first spike is at or after the
--                    change's minute (of services_total)
--   before_rate      errors/min of the broken series in the $rate_min minutes
--                    before the change's minute
--   after_rate       errors/min of the broken series from the change's minute
--                    to $rate_min minutes after onset
--   symptom          the error class a change of this type typically causes
--                    (dns, auth, network, load_balancer, throttling), if any
--   symptom_share    share of the broken series' errors in the first
--                    $rate_min minutes of the incident that are of that class
--   downstream       the change's service broke, but only after a service it
--                    depends on broke ($down_incident/$down_service, from Go)
--   node_dist        distance from where the incident started (its roots) to
--                    a resource the change touched (load balancer, record,
--                    role ...; -1 none); node_hit: the broken services'
--                    errors name it; sibling: it touched resources of a kind
--                    the broken services use, but not theirs (lists
--                    c_incident ... from Go: queries/nodes.go)
--   cloud_provider   the change's provider (aws, gcp, azure; '' unknown): Go
--                    compares it with the providers of the incident's regions
--   version_share    for a deploy: share of the first errors of the deployed
--                    service that carry its new version (service.version or
--                    version; lists v_incident ... from Go: sql/versions.sql)
--
-- The Go side groups the incidents into batches close in time; each batch's
-- changes (sql/candidate_changes.sql) and its broken series' errors
-- (sql/candidate_errors.sql) are read with the batch's own time bounds, so
-- DuckDB skips every row group outside them, and put in front of this
-- statement as the CTEs cand_chg and cand_err (one UNION ALL branch per
-- batch: queries/score.go). It then scores the candidates of every
-- incident ($incident_ids) at once: planning and starting this statement
-- costs more than running it on one batch.
WITH chg AS (
    SELECT * FROM cand_chg
),
batch AS (
    SELECT * FROM incidents WHERE list_contains(CAST($incident_ids AS VARCHAR[]), incident_id)
),
batch_series AS (
    SELECT * FROM incident_series WHERE list_contains(CAST($incident_ids AS VARCHAR[]), incident_id)
),
-- each incident's look-back minutes, so that changes join on equal minutes
-- (a hash join) instead of a range condition
lookback AS (
    SELECT incident_id, onset_m, rise_m, services, regions, onset_m - r.k AS cm
    FROM batch, range(0, $lookback_min + $rise_min + 1) r(k)
    WHERE onset_m - r.k >= rise_m - $lookback_min
),
-- (narrow: the columns the score needs; the rest of the change's row, and
-- its attributes, are read again for the candidates that can make the
-- top $keep only)
pairs AS (
    SELECT l.incident_id, l.onset_m, c.rid, c.event_id, c.service, c.region, c.account_id,
           c.resource, c.change_type, c.risk_class, c.cm,
           l.onset_m - c.tm                                           AS lead_minutes,
           l.rise_m - c.tm                                            AS rise_lead,
           list_contains(l.services, c.service)                       AS service_match,
           list_contains(l.regions, c.region)                         AS region_match
    FROM lookback l JOIN chg c USING (cm)
    WHERE c.tm >= l.rise_m - $lookback_min
),
-- the errors of the broken series during their spikes, counted per
-- distinct (account, resource, code and message, peer, early): errors
-- repeat, so each distinct one is lowered and classified once (n: how many
-- error rows it stands for); x and symptom only for the early ones (the
-- first $rate_min minutes), the only ones read for them
inc_errors AS (
    SELECT incident_id, service, account_id, resource, early, n,
           CASE WHEN early THEN x END AS x,
           CASE WHEN early THEN peer END AS peer,
           CASE
             WHEN NOT early THEN NULL
             WHEN regexp_matches(x, 'no such host|unknownhost|nxdomain|name or service not known|getaddrinfo|name resolution|dns') THEN 'dns'
             WHEN regexp_matches(x, 'accessdenied|access denied|unauthori[sz]ed|not authorized|forbidden|invalidclienttoken|expiredtoken|signaturedoesnotmatch|\b403\b') THEN 'auth'
             WHEN regexp_matches(x, 'throttl|toomanyrequests|rate exceeded|slowdown|provisionedthroughputexceeded|requestlimitexceeded|\b429\b') THEN 'throttling'
             WHEN regexp_matches(x, 'bad gateway|service unavailable|gateway timeout|unhealthy|no healthy|target|\b50[234]\b') THEN 'load_balancer'
             WHEN regexp_matches(x, 'connection refused|connection reset|timed out|timeout|deadline exceeded|unreachable|no route to host|broken pipe') THEN 'network'
           END AS symptom
    FROM (
        SELECT incident_id, service, account_id, resource, early,
               lower(coalesce(error_code, '') || ' ' || coalesce(message, '')) AS x,
               lower(coalesce(peer_service, '')) AS peer,
               n
        FROM (
            SELECT * FROM cand_err
        )
    )
),
-- accounts and resources named by the errors of the broken series
scope AS (
    SELECT DISTINCT incident_id, account_id, resource FROM inc_errors
),
messages AS (
    SELECT incident_id, service, x FROM (SELECT DISTINCT incident_id, service, x || ' ' || peer AS x
                                         FROM inc_errors WHERE early AND x || peer <> ' ')
    QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY x, service) <= 500
),
symptoms AS (
    SELECT incident_id, symptom,
           sum(n) / sum(sum(n)) OVER (PARTITION BY incident_id) AS share
    FROM inc_errors WHERE early
    GROUP BY incident_id, symptom
),
-- which error class each change type typically causes
affinity(change_type, symptom) AS (
    VALUES ('dns', 'dns'), ('iam', 'auth'), ('security', 'auth'),
           ('networking', 'network'), ('load_balancing', 'load_balancer'), ('load_balancing', 'network'),
           ('autoscaling', 'load_balancer'), ('compute_config', 'throttling'),
           ('data_store', 'throttling'), ('provider', 'throttling'), ('provider', 'network')
),
-- per incident and change type (the symptom depends on nothing else)
type_symptom AS (
    SELECT p.incident_id, p.change_type,
           arg_max(a.symptom, coalesce(y.share, 0)) AS symptom,
           max(coalesce(y.share, 0))                AS symptom_share
    FROM (SELECT DISTINCT incident_id, change_type FROM pairs) p
    JOIN affinity a ON a.change_type = p.change_type
    LEFT JOIN symptoms y ON y.incident_id = p.incident_id AND y.symptom = a.symptom
    GROUP BY p.incident_id, p.change_type
),
-- a deploy: the share of the deployed service's first errors after it
-- that carry its new version (sql/versions.sql, run by Go for batches with
-- deploys only)
versions AS (
    SELECT unnest(CAST($v_incident AS VARCHAR[])) AS incident_id,
           unnest(CAST($v_event AS VARCHAR[]))    AS event_id,
           unnest(CAST($v_version AS VARCHAR[]))  AS version,
           unnest(CAST($v_share AS DOUBLE[]))     AS version_share
),
firsts AS (
    SELECT incident_id, service, min(start_m) AS start_m
    FROM batch_series GROUP BY ALL
),
down AS (
    SELECT unnest(CAST($down_incident AS VARCHAR[])) AS incident_id,
           unnest(CAST($down_service AS VARCHAR[]))  AS service
),
cnode AS (
    SELECT unnest(CAST($c_incident AS VARCHAR[])) AS incident_id,
           unnest(CAST($c_event AS VARCHAR[]))    AS event_id,
           unnest(CAST($c_dist AS BIGINT[]))      AS node_dist,
           unnest(CAST($c_flags AS BIGINT[]))     AS flags -- 1 sibling, 2 named by the broken services' errors
),
-- the minutes of each incident's look-back that have a candidate: the
-- spread and the rates depend only on the incident and the change's minute,
-- so they are computed once per minute (61 rows an incident) and not once
-- per change (thousands in a busy hour)
pair_minutes AS (
    SELECT DISTINCT incident_id, onset_m, cm FROM pairs
),
spread AS (
    SELECT p.incident_id, p.cm,
           count(*) FILTER (WHERE f.start_m >= p.cm) AS services_after,
           count(*)                                  AS services_total
    FROM pair_minutes p JOIN firsts f USING (incident_id)
    GROUP BY ALL
),
-- errors per minute summed over each incident's broken series, from the
-- earliest candidate's before-window to the latest after-window
inc_minutes AS (
    SELECT b.incident_id, s.m, sum(s.errors) AS errors
    FROM (SELECT DISTINCT incident_id, service, region, onset_m FROM batch_series) b
    JOIN series s ON s.service = b.service AND s.region = b.region
                 AND s.m >= b.onset_m - $lookback_min - $rate_min
                 AND s.m <  b.onset_m + $rate_min
    GROUP BY ALL
),
rates AS (
    SELECT p.incident_id, p.cm,
           coalesce(sum(x.errors) FILTER (WHERE x.m <  p.cm), 0) / $rate_min AS before_rate,
           coalesce(sum(x.errors) FILTER (WHERE x.m >= p.cm), 0)
               / greatest(max(p.onset_m + $rate_min - p.cm), 1)             AS after_rate
    FROM pair_minutes p
    JOIN inc_minutes x ON x.incident_id = p.incident_id
                      AND x.m >= p.cm - $rate_min AND x.m < p.onset_m + $rate_min
    GROUP BY p.incident_id, p.cm
),
-- downstream, account_match and resource_match are plain left joins on
-- these sets, each distinct per key so a join adds no rows: an account or
-- resource an error of the broken series names, and (named_resources,
-- below) each distinct resource name of the candidates that can make the
-- top $keep (4 characters at least) found in one of the first error
-- messages (tested once per name, not once per change)
scope_accounts AS (
    SELECT DISTINCT incident_id, account_id FROM scope WHERE account_id IS NOT NULL
),
scope_resources AS (
    SELECT DISTINCT incident_id, resource FROM scope WHERE resource IS NOT NULL
),
-- topology distance from the nearest root of the incident (a broken
-- service no broken dependency of which broke before it) to each service
-- (computed in Go from the merged topology, passed as three lists)
dist AS (
    SELECT unnest(CAST($d_incident AS VARCHAR[])) AS incident_id,
           unnest(CAST($d_service AS VARCHAR[]))  AS service,
           unnest(CAST($d_dist AS BIGINT[]))      AS dist
),
-- Every feature of each pair that a join on small sets gives, and the
-- score of docs/correlation.md without its one costly part: whether the
-- errors name what the change touched (resource_match OR name_match, read
-- by parsing messages and attributes). queries/score.go computes the score
-- again, with its parts and evidence, for the rows kept; here it only keeps
-- the best $keep candidates per incident, so a change-heavy hour does not
-- ship thousands of rows to Go. The score is
--   factor * (rest + $w_scope * 0.3 * named) / (sum of the weights)
-- with named = node_hit OR version_share >= 0.5 OR the errors name the
-- change's resource or a name it touched: lo with named from what is known
-- here, hi with named true bound it.
bound AS (
    SELECT *,
        factor * (rest + $w_scope * 0.3 * named_known::INT) / $w_total AS lo,
        factor * (rest + $w_scope * 0.3) / $w_total                   AS hi
    FROM (
        SELECT *,
            CASE WHEN NOT region_match
                      AND service NOT IN ('iam', 'route53', 'cloudfront', 'organizations', 'sts', 'waf',
                                          'globalaccelerator', 'shield', 'route53domains')
                      AND region NOT IN ('global', 'aws-global')
                 THEN $other_region_factor ELSE 1 END AS factor,
            $w_lead     * CASE WHEN rise_lead >= 0 THEN 0.5 ^ (rise_lead / $half_life_min)
                               ELSE 0.5 ^ (greatest(-rise_lead - 1, 0) / 2) END
            + $w_scope    * (0.4 * service_match::INT * CASE WHEN downstream THEN 0.5 ELSE 1 END
                             + 0.2 * region_match::INT + 0.1 * account_match::INT)
            + $w_topology * coalesce(0.5 ^ (CASE WHEN node_dist >= 0 THEN least(node_dist, coalesce(dist, 99))
                                                 WHEN sibling AND dist > 0 THEN dist + 1
                                                 ELSE dist END / 2), 0)
            + $w_spread   * services_after / greatest(services_total, 1)
            + $w_risk     * CASE lower(risk_class) WHEN 'critical' THEN 1 WHEN 'high' THEN 0.75
                                                   WHEN 'medium' THEN 0.5 WHEN 'low' THEN 0.2 ELSE 0.3 END
            + $w_ratio    * greatest(0, least(1, log10((after_rate + 0.5) / (before_rate + 0.5)) / 2))
            + $w_symptom  * least(1, 2 * symptom_share) AS rest,
            resource_hit OR node_hit OR version_share >= 0.5 AS named_known
        FROM (
            SELECT
                p.incident_id, p.rid, p.event_id, p.service, p.region, p.risk_class, p.resource,
                p.lead_minutes, p.rise_lead, p.service_match,
                dn.service IS NOT NULL                               AS downstream,
                p.region_match,
                sa.account_id IS NOT NULL                            AS account_match,
                sr.resource IS NOT NULL                              AS resource_hit,
                sp.services_after, sp.services_total,
                coalesce(r.before_rate, 0)                           AS before_rate,
                coalesce(r.after_rate, 0)                            AS after_rate,
                coalesce(ps.symptom, '')                             AS symptom,
                coalesce(ps.symptom_share, 0)                        AS symptom_share,
                coalesce(v.version_share, 0)                         AS version_share,
                coalesce(v.version, '')                              AS new_version,
                coalesce(cn.node_dist, -1)                           AS node_dist,
                coalesce(cn.flags, 0) & 1 = 1                        AS sibling,
                coalesce(cn.flags, 0) & 2 = 2                        AS node_hit,
                d.dist
            FROM pairs p
            JOIN spread sp USING (incident_id, cm)
            LEFT JOIN rates r USING (incident_id, cm)
            LEFT JOIN type_symptom ps ON ps.incident_id = p.incident_id AND ps.change_type = p.change_type
            LEFT JOIN versions v USING (incident_id, event_id)
            LEFT JOIN cnode cn USING (incident_id, event_id)
            LEFT JOIN (SELECT DISTINCT incident_id, service FROM down) dn
                   ON dn.incident_id = p.incident_id AND dn.service = p.service
            LEFT JOIN scope_accounts sa ON sa.incident_id = p.incident_id AND sa.account_id = p.account_id
            LEFT JOIN scope_resources sr ON sr.incident_id = p.incident_id AND sr.resource = p.resource
            LEFT JOIN dist d ON d.incident_id = p.incident_id AND d.service = p.service
        )
    )
),
-- the $keep-th best lo of each incident (none when it has fewer pairs):
-- a pair whose hi is below it has at least $keep pairs scoring more
cut AS (
    SELECT incident_id, CASE WHEN count(*) >= $keep THEN list_min(max(lo, $keep)) END AS lo_keep
    FROM bound GROUP BY incident_id
),
-- the pairs that can still make the top $keep of their incident, with
-- the last path segment of their resource (e.g. the role name of an IAM
-- role ARN), looked for in the first error messages
surv AS (
    SELECT b.*, lower(regexp_extract(coalesce(b.resource, ''), '([^/:]+)$', 1)) AS resource_name
    FROM bound b JOIN cut c USING (incident_id)
    WHERE c.lo_keep IS NULL OR b.hi >= c.lo_keep
),
-- names a candidate change touches (DNS record, role, policy, function,
-- target group, listener, table ...), read from its attributes JSON: only
-- the candidates that can still make the top $keep are parsed, never the
-- errors
touched AS (
    SELECT incident_id, event_id, kind,
           lower(rtrim(CASE WHEN kind IN ('target group', 'load balancer')
                             AND regexp_matches(val, '(targetgroup|loadbalancer/(app|net))/[^/]+')
                            THEN regexp_extract(val, '(targetgroup|loadbalancer/(app|net))/([^/]+)', 3)
                            ELSE regexp_extract(val, '([^/:]+)$', 1) END, '.')) AS name
    FROM (
        SELECT incident_id, event_id,
               CASE k WHEN 'name' THEN 'record' WHEN 'roleName' THEN 'role' WHEN 'policyName' THEN 'policy'
                      WHEN 'policyArn' THEN 'policy' WHEN 'functionName' THEN 'function'
                      WHEN 'targetGroupArn' THEN 'target group' WHEN 'targetGroupName' THEN 'target group'
                      WHEN 'listenerArn' THEN 'listener' WHEN 'loadBalancerArn' THEN 'load balancer'
                      WHEN 'loadBalancerName' THEN 'load balancer' WHEN 'tableName' THEN 'table'
                      WHEN 'autoScalingGroupName' THEN 'auto scaling group' WHEN 'stackName' THEN 'stack'
                      WHEN 'bucketName' THEN 'bucket' WHEN 'queueUrl' THEN 'queue' ELSE k END AS kind,
               val
        FROM (
            SELECT incident_id, event_id,
                   regexp_extract(kv, '^"([A-Za-z]+)"', 1)     AS k,
                   regexp_extract(kv, ':\s*"([^"]*)"$', 1)   AS val
            FROM (
                SELECT s.incident_id, s.event_id,
                       unnest(regexp_extract_all(CAST(c.attributes AS VARCHAR),
                           '"(name|roleName|policyName|policyArn|functionName|targetGroupArn|targetGroupName|listenerArn|loadBalancerArn|loadBalancerName|tableName|autoScalingGroupName|stackName|bucketName|queueUrl)"\s*:\s*"[^"]*"')) AS kv
                FROM surv s JOIN chg c USING (rid) WHERE c.attributes IS NOT NULL
            )
        )
    )
),
-- the first touched name that the first errors of a broken service name
-- (in their message or peer), with that service
name_hits AS (
    SELECT t.incident_id, t.event_id,
           arg_min(t.kind || ' ' || t.name, (NOT starts_with(t.name, m.service), m.service, t.name)) AS matched_name,
           arg_min(m.service, (NOT starts_with(t.name, m.service), m.service, t.name))              AS matched_service
    FROM touched t JOIN messages m ON m.incident_id = t.incident_id AND contains(m.x, t.name)
    WHERE length(t.name) >= 5
    GROUP BY ALL
),
named_resources AS (
    SELECT DISTINCT n.incident_id, n.resource_name
    FROM (SELECT DISTINCT incident_id, resource_name FROM surv WHERE length(resource_name) >= 4) n
    JOIN messages m ON m.incident_id = n.incident_id AND contains(m.x, n.resource_name)
),
scored AS (
    SELECT s.*,
        s.resource_hit OR rn.resource_name IS NOT NULL AS resource_match,
        nh.matched_name IS NOT NULL                    AS name_match,
        coalesce(nh.matched_name, '')                  AS matched_name,
        coalesce(nh.matched_service, '')               AS matched_service,
        s.factor * (s.rest + $w_scope * 0.3 * (s.named_known OR rn.resource_name IS NOT NULL OR nh.matched_name IS NOT NULL)::INT)
            / $w_total AS pre_score
    FROM surv s
    LEFT JOIN name_hits nh USING (incident_id, event_id)
    LEFT JOIN named_resources rn ON rn.incident_id = s.incident_id AND rn.resource_name = s.resource_name
),
kept AS (
    SELECT * FROM scored
    QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY pre_score DESC, lead_minutes, event_id) <= $keep
)
SELECT k.incident_id, k.event_id, c.time, c.source, c.service, c.operation, c.resource,
       c.actor, c.region, c.account_id, c.change_type, c.risk_class,
       k.lead_minutes, k.rise_lead, k.service_match, k.downstream, k.region_match, k.account_match,
       k.resource_match, k.name_match, k.matched_name, k.matched_service,
       k.services_after, k.services_total, k.before_rate, k.after_rate,
       k.symptom, k.symptom_share, k.version_share, k.new_version, c.cloud_provider
FROM kept k JOIN chg c USING (rid)
ORDER BY k.incident_id, c.time, k.event_id
