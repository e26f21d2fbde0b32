-- region_providers: which cloud provider(s) each region belongs to, from the
-- events that say so (events.cloud_provider: aws, gcp, azure) in the window
-- the regions query reads. Region names rarely collide across providers
-- (us-east-1, us-east1, eastus), but 'global' can hold several: the Go side
-- joins them ("aws+gcp/global"). A region only app logs without
-- cloud.provider mention has no row and is shown bare.
SELECT coalesce(region, 'global') AS region, cloud_provider AS provider
FROM events
WHERE cloud_provider IS NOT NULL AND cloud_provider <> ''
  AND time >= CAST($cand_from AS TIMESTAMPTZ)
  AND time <  CAST($until AS TIMESTAMPTZ)
GROUP BY ALL
ORDER BY region, provider
