-- DuckDB's own near-limit for parse + load: read_json over the corpus as
-- NDJSON, mapped to the events table by SQL. One scan of the file
-- (MATERIALIZED), then one SELECT per input family. $path is substituted
-- with the quoted file name.
INSERT INTO events
WITH r AS MATERIALIZED (
    SELECT * FROM read_json($path, format = 'newline_delimited', maximum_object_size = 16777216, columns = {
        eventVersion: 'VARCHAR', userIdentity: 'JSON', eventTime: 'VARCHAR', eventSource: 'VARCHAR',
        eventName: 'VARCHAR', awsRegion: 'VARCHAR', sourceIPAddress: 'VARCHAR', userAgent: 'VARCHAR',
        errorCode: 'VARCHAR', errorMessage: 'VARCHAR', requestParameters: 'JSON', responseElements: 'JSON',
        requestID: 'VARCHAR', eventID: 'VARCHAR', readOnly: 'BOOLEAN', eventType: 'VARCHAR',
        managementEvent: 'BOOLEAN', recipientAccountId: 'VARCHAR', eventCategory: 'VARCHAR', tlsDetails: 'JSON',
        messageType: 'VARCHAR', owner: 'VARCHAR', logGroup: 'VARCHAR', logStream: 'VARCHAR',
        subscriptionFilters: 'VARCHAR[]',
        logEvents: 'STRUCT(id VARCHAR, "timestamp" BIGINT, message VARCHAR)[]',
        "time": 'VARCHAR', service: 'VARCHAR', kind: 'VARCHAR', level: 'VARCHAR', message: 'VARCHAR',
        "error.type": 'VARCHAR', region: 'VARCHAR', "server.address": 'VARCHAR', trace_id: 'VARCHAR',
        span_id: 'VARCHAR', "http.route": 'VARCHAR', "http.response.status_code": 'INTEGER',
        version: 'VARCHAR', actor: 'VARCHAR', env: 'VARCHAR'
    })
)
-- CloudTrail records
SELECT eventID, CAST(eventTime AS TIMESTAMPTZ), now(), 'cloudtrail',
       CASE WHEN errorCode IS NOT NULL THEN 'error' WHEN NOT readOnly THEN 'change' ELSE 'info' END,
       split_part(eventSource, '.', 1), eventName, awsRegion, recipientAccountId,
       json_extract_string(requestParameters, '$.resourceArn'), json_extract_string(userIdentity, '$.arn'),
       CASE WHEN errorCode IS NOT NULL THEN 17 ELSE 9 END,
       CASE WHEN errorCode IS NOT NULL THEN 'ERROR' ELSE 'INFO' END,
       CASE WHEN errorCode IS NOT NULL THEN 'failed' ELSE 'succeeded' END,
       errorCode, errorMessage, requestID, NULL, NULL, NULL, NULL,
       to_json(struct_pack(userIdentity, sourceIPAddress, userAgent, requestParameters, responseElements,
                           eventType, managementEvent, eventCategory, tlsDetails)),
       NULL, NULL, NULL, NULL, NULL, 'aws'
FROM r WHERE eventVersion IS NOT NULL
UNION ALL
-- CloudWatch Logs log events
SELECT e.id, epoch_ms(e."timestamp"), now(), 'cloudwatch',
       CASE WHEN contains(e.message, 'ERROR') THEN 'error' ELSE 'info' END,
       split_part(logGroup, '/', -1), NULL, NULL, owner, logGroup, NULL,
       CASE WHEN contains(e.message, 'ERROR') THEN 17 ELSE 9 END,
       CASE WHEN contains(e.message, 'ERROR') THEN 'ERROR' ELSE 'INFO' END,
       NULL, NULL, e.message, NULL, NULL, NULL, NULL, NULL,
       to_json(struct_pack(logStream, subscriptionFilters)),
       NULL, NULL, NULL, NULL, NULL, 'aws'
FROM (SELECT owner, logGroup, logStream, subscriptionFilters, unnest(logEvents) AS e FROM r WHERE messageType = 'DATA_MESSAGE')
UNION ALL
-- application events and deploys
SELECT 'h-' || md5(concat_ws('|', "time", service, trace_id, message)), CAST("time" AS TIMESTAMPTZ), now(),
       CASE WHEN kind = 'deploy' THEN 'deploy' ELSE 'app' END,
       CASE WHEN kind = 'deploy' THEN 'change' WHEN level = 'error' THEN 'error' ELSE 'info' END,
       service, NULL, region, NULL, NULL, actor,
       CASE WHEN level = 'error' THEN 17 ELSE 9 END, upper(level),
       CAST("http.response.status_code" AS VARCHAR), "error.type", message, NULL, trace_id, NULL, NULL,
       split_part("server.address", '.', 1),
       to_json(struct_pack(span_id, "http.route", version, env)),
       NULL, NULL, NULL, NULL, NULL, NULL
FROM r WHERE eventVersion IS NULL AND messageType IS NULL
