-- incident_list: the incidents of the session (stage incidents), oldest
-- first: the named query "incidents".
SELECT incident_id, onset_m, peak_m, recovery_m, ongoing,
       services, regions, peak_errors, total_errors, rise_m
FROM incidents
ORDER BY onset_m, incident_id
