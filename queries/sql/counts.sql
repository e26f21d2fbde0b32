-- counts: every event and every dead letter stored, all time.
SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM dead_letters)
