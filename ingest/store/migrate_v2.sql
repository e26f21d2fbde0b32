-- Schema version 1 -> 2: events.cloud_provider (added by schema.sql) for the
-- rows written before it, with the provider the decoder now sets: every AWS
-- source is aws (deploy rows only when they came from CodeDeploy or
-- CodePipeline through EventBridge; app deploys are not AWS's), app and
-- OTLP rows take their cloud.provider attribute, else the provider prefix of
-- cloud.platform. Google Cloud and Azure rows did not exist before version 2.
-- Idempotent: it runs again if a crash interrupted it.
UPDATE events SET cloud_provider = CASE
    WHEN source IN ('cloudtrail', 'cloudwatch', 'config', 'health', 'alarm', 'eventbridge') THEN 'aws'
    WHEN source = 'deploy' AND json_extract_string(attributes, '$.source') LIKE 'aws.%' THEN 'aws'
    ELSE coalesce(
        nullif(lower(trim(json_extract_string(attributes, '$."cloud.provider"'))), ''),
        CASE
            WHEN lower(json_extract_string(attributes, '$."cloud.platform"')) LIKE 'aws\_%' ESCAPE '\' THEN 'aws'
            WHEN lower(json_extract_string(attributes, '$."cloud.platform"')) LIKE 'gcp\_%' ESCAPE '\' THEN 'gcp'
            WHEN lower(json_extract_string(attributes, '$."cloud.platform"')) LIKE 'azure\_%' ESCAPE '\' THEN 'azure'
        END)
    END
WHERE cloud_provider IS NULL;
UPDATE schema_version SET version = 2;
