-- The webhook outbox's trigger fires per event row, and only for the events a
-- sender can be told of. The statement-level trigger of 0004 ran for every insert
-- into access_events, a create's 'created' event included, and collected each
-- statement's rows into a transition table first: 7 to 15 % of PostgreSQL's time
-- per create and reveal (docs/performance.md). A row trigger's WHEN clause is
-- checked without calling the function at all, so a create pays nothing; a
-- reveal pays one lookup of its receipt by primary key. A reaper's batch pays
-- that lookup per row, which it did in the statement's join as well.
CREATE FUNCTION burnafter_enqueue_webhook_v2() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (secret_id, endpoint, event, sender, occurred_at)
    SELECT NEW.secret_id, endpoint,
           'secret.' || CASE NEW.event WHEN 'burned' THEN 'locked' ELSE NEW.event END,
           r.creator, NEW.at
    FROM receipts AS r CROSS JOIN LATERAL unnest(r.notify) AS endpoint
    WHERE r.id = NEW.secret_id AND r.notify <> '{}';
    RETURN NULL;
END
$$;

DROP TRIGGER access_events_enqueue_webhooks ON access_events;
CREATE TRIGGER access_events_enqueue_webhooks
AFTER INSERT ON access_events
FOR EACH ROW
WHEN (NEW.event IN ('viewed', 'burned', 'revoked', 'expired', 'deleted'))
EXECUTE FUNCTION burnafter_enqueue_webhook_v2();
DROP FUNCTION burnafter_enqueue_webhooks_v1();
