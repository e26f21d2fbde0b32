-- change_facets: the distinct values of each change filter dimension among
-- the changes in [$since, $until), for the filter form of the changes page.
SELECT 'service' AS dim, service AS value FROM changes WHERE time >= $since AND time < $until AND service IS NOT NULL
UNION SELECT 'operation', operation FROM changes WHERE time >= $since AND time < $until AND operation IS NOT NULL
UNION SELECT 'actor', actor FROM changes WHERE time >= $since AND time < $until AND actor IS NOT NULL
UNION SELECT 'region', region FROM changes WHERE time >= $since AND time < $until AND region IS NOT NULL
UNION SELECT 'change_type', change_type FROM changes WHERE time >= $since AND time < $until AND change_type IS NOT NULL
UNION SELECT 'risk_class', risk_class FROM changes WHERE time >= $since AND time < $until AND risk_class IS NOT NULL
ORDER BY 1, 2
