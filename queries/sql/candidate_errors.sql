-- candidate_errors: the errors of one batch's broken series during their
-- spikes ($incident_ids, $err_from..$err_to), counted per distinct
-- (account, resource, code and message, peer, early), appended by Go to the
-- session's temp table cand_err (queries/score.go) before
-- sql/candidates.sql reads all batches at once. early: in the first
-- $rate_min minutes after the incident's onset.
WITH batch_series AS (
    SELECT * FROM incident_series WHERE list_contains(CAST($incident_ids AS VARCHAR[]), incident_id)
)
SELECT s.incident_id, s.service, e.account_id, e.resource, e.error_code, e.message, e.peer_service,
       epoch_ms(e.time) // 60000 < s.onset_m + $rate_min AS early,
       count(*) AS n
FROM batch_series s
JOIN (SELECT * FROM events
      WHERE kind = 'error'
        AND time >= CAST($err_from AS TIMESTAMPTZ)
        AND time <  CAST($err_to AS TIMESTAMPTZ)) e
  ON coalesce(e.service, '(none)') = s.service
 AND coalesce(e.region, 'global') = s.region
 AND epoch_ms(e.time) // 60000 BETWEEN s.start_m AND s.end_m
GROUP BY ALL
