-- event_span: the time span of all events, how many there are, and the time
-- of the latest error (the default "now" of the pages: future-dated events
-- such as scheduled maintenance must not move it).
SELECT min(time), max(time), count(*), max(time) FILTER (WHERE kind = 'error') FROM events
