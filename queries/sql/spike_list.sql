-- spike_list: the spikes of the session (stage spikes), each with the
-- incident it belongs to ('' when too small to form one): the named query
-- "spikes", and what the cascade is built from.
SELECT coalesce(i.incident_id, ''), s.service, s.region, s.rise_m, s.start_m, s.end_m,
       s.spike_minutes, s.peak_m, s.peak_errors, s.errors, s.baseline, s.threshold
FROM spikes s LEFT JOIN incident_series i USING (service, region, start_m)
ORDER BY s.start_m, s.service, s.region
