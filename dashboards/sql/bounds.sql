-- The time span of all events and how many there are.
SELECT min(time), max(time), count(*) FROM events
