-- region_providers: which cloud provider(s) each region belongs to, from the
-- events that say so (events.cloud_provider: aws, gcp, azure) in the window
-- the regions query reads. Region names rarely collide across providers
-- (us-east-1, us-east1, eastus), but 'global' can hold several: the Go side
-- joins them ("aws+gcp/global"). A region only app logs without
-- cloud.provider mention has no row and is shown bare.
-- The window's whole minutes [$cand_wf, $cand_wt) come from the rollup
-- activity_minutes, the part of a minute at either end from the events.
SELECT coalesce(region, 'global') AS region, cloud_provider AS provider
FROM (
    SELECT region, cloud_provider FROM activity_minutes
    WHERE minute >= CAST($cand_wf AS TIMESTAMPTZ) AND minute < CAST($cand_wt AS TIMESTAMPTZ)
    UNION ALL
    SELECT region, cloud_provider FROM events
    WHERE time >= CAST($cand_from AS TIMESTAMPTZ) AND time < CAST($cand_wf AS TIMESTAMPTZ)
    UNION ALL
    SELECT region, cloud_provider FROM events
    WHERE time >= CAST($cand_wt AS TIMESTAMPTZ) AND time < CAST($until AS TIMESTAMPTZ)
)
WHERE cloud_provider IS NOT NULL AND cloud_provider <> ''
GROUP BY ALL
ORDER BY region, provider
