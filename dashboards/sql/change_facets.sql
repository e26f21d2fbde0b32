-- Distinct values of each change filter in a window, for the filter form.
-- Parameters: $1 since, $2 until.
SELECT 'service' AS dim, service AS value FROM changes WHERE time >= $1 AND time < $2 AND service IS NOT NULL
UNION SELECT 'operation', operation FROM changes WHERE time >= $1 AND time < $2 AND operation IS NOT NULL
UNION SELECT 'actor', actor FROM changes WHERE time >= $1 AND time < $2 AND actor IS NOT NULL
UNION SELECT 'region', region FROM changes WHERE time >= $1 AND time < $2 AND region IS NOT NULL
UNION SELECT 'change_type', change_type FROM changes WHERE time >= $1 AND time < $2 AND change_type IS NOT NULL
UNION SELECT 'risk_class', risk_class FROM changes WHERE time >= $1 AND time < $2 AND risk_class IS NOT NULL
ORDER BY 1, 2
