-- The admin dashboard reads events by time (daily counts, audit history) and
-- failed unlocks by time. The hot path never uses these.
CREATE INDEX access_events_at_idx ON access_events (at);
CREATE INDEX access_events_event_at_idx ON access_events (event, at);
