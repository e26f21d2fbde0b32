-- Named-query benchmark events, generated directly in DuckDB, used by
-- BenchmarkNamedQueries and faultline bench (GenerateEvents) so
-- both benchmarks measure the same data: one day of events for any $n, 50
-- services, 6 regions, ~2% changes, ~5% background errors and 6 error
-- bursts (15 minutes, 6 services each, all in region r0) with peer_service
-- set on errors.
INSERT INTO events (event_id, time, observed_time, source, kind, service, operation, region, account_id,
    resource, actor, severity_number, severity_text, status, error_code, message, change_type, risk_class,
    peer_service, attributes)
SELECT
    'e' || i,
    t, t + INTERVAL 2 SECOND,
    CASE WHEN is_change THEN 'cloudtrail' ELSE 'app' END,
    CASE WHEN is_change THEN 'change' WHEN is_error THEN 'error' ELSE 'info' END,
    'svc-' || lpad(svc::VARCHAR, 2, '0'),
    CASE WHEN is_change THEN 'Op' || (h2 % 20) END,
    region,
    '1111222233' || (h2 % 3),
    CASE WHEN is_change THEN 'arn:aws:svc:' || region || ':res/' || (h2 % 500) END,
    CASE WHEN is_change THEN 'user' || (h2 % 30) END,
    CASE WHEN is_error THEN 17 ELSE 9 END,
    CASE WHEN is_error THEN 'ERROR' ELSE 'INFO' END,
    'ok', CASE WHEN is_error THEN 'Timeout' END,
    CASE WHEN is_error THEN 'upstream timed out' ELSE 'handled request' END,
    CASE WHEN is_change THEN (['deploy','networking','iam','dns','config'])[1 + (h2 % 5)::BIGINT] END,
    CASE WHEN is_change THEN (['low','medium','high','critical'])[1 + (h2 % 4)::BIGINT] END,
    CASE WHEN is_error THEN 'svc-' || lpad(((svc + 1) % 50)::VARCHAR, 2, '0') END,
    '{}'
FROM (
    SELECT *,
        h1 % 50 = 0 AS is_change,
        h1 % 50 <> 0 AND (h1 % 100 < 6 OR (burst >= 0 AND svc BETWEEN burst * 7 AND burst * 7 + 5
                                           AND h2 % 4 <> 0)) AS is_error
    FROM (
        SELECT i, h1, h2, svc, t,
            -- A burst service serves only from r0 while it lasts (its
            -- traffic failed over there), so a burst is a spike at 1M
            -- events a day as well as at 10M.
            CASE WHEN burst >= 0 AND svc BETWEEN burst * 7 AND burst * 7 + 5 THEN 'r0'
                 ELSE 'r' || (h2 % 6) END AS region,
            burst
        FROM (
            SELECT *, CASE WHEN m % 240 BETWEEN 120 AND 134 THEN m // 240 ELSE -1 END AS burst
            FROM (
            SELECT i, hash(i) AS h1, hash(i * 31 + 7) AS h2, hash(i) % 50 AS svc,
                TIMESTAMPTZ '2025-10-20 00:00:00+00' + to_microseconds(i * (86400000000 // $n)) AS t,
                (i * 1440) // $n AS m
            FROM range($n) r(i)
            )
        )
    )
)