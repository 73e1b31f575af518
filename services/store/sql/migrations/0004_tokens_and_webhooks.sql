-- API tokens for automation. The token is shown once; only SHA-256 of its secret
-- part is kept. The id (the public part of the token) finds the row; the secret
-- part is then compared in constant time by the api.
CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    owner        text NOT NULL,
    secret_hash  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- The operator-configured webhook endpoints (by name) that the sender asked to
-- notify; receipts.creator (from 0001) names the sender.
ALTER TABLE receipts ADD COLUMN notify text[] NOT NULL DEFAULT '{}';

-- The webhook outbox: one row per (event, endpoint), written in the transaction
-- that changes the secret, delivered by the reaper's dispatcher, which claims rows
-- with FOR UPDATE SKIP LOCKED so several dispatchers never send one row twice.
CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secret_id       text NOT NULL REFERENCES receipts (id) ON DELETE CASCADE,
    endpoint        text NOT NULL,
    event           text NOT NULL,
    sender          text,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    delivered_at    timestamptz,
    gave_up_at      timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX webhook_deliveries_secret_idx ON webhook_deliveries (secret_id);

-- Every path that records a viewed, locked, revoked or expired event (reveal,
-- revoke, the reaper) fills the outbox in the same transaction: one statement per
-- statement, not per row, so the reaper's batches stay batches.
CREATE FUNCTION burnafter_enqueue_webhooks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (secret_id, endpoint, event, sender, occurred_at)
    SELECT e.secret_id, endpoint, 'secret.' || e.event, r.creator, e.at
    FROM inserted AS e
    -- OFFSET 0 keeps this a lookup by primary key per event: flattened into a
    -- join, the planner may hash all of receipts for a reaper's batch.
    CROSS JOIN LATERAL (
        SELECT creator, notify FROM receipts
        WHERE id = e.secret_id AND notify <> '{}'
        OFFSET 0
    ) AS r
    CROSS JOIN LATERAL unnest(r.notify) AS endpoint
    WHERE e.event IN ('viewed', 'locked', 'revoked', 'expired');
    RETURN NULL;
END
$$;

CREATE TRIGGER access_events_enqueue_webhooks
AFTER INSERT ON access_events
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION burnafter_enqueue_webhooks();
