-- One word per fact (docs/architecture.md, "Vocabulary"), and SQL functions that
-- carry a version in their name, so a later change of a signature adds a _v2 next
-- to the _v1 the pods still running call, instead of breaking them mid-deploy.
--
-- Stored words renamed here:
--   receipts.state        viewed -> spent, locked -> burned
--   access_events.event   unlock_failed -> wrong_passphrase, locked -> burned
-- Old pods write none of the old words themselves: the only writer of them was
-- burnafter_reveal, which now calls burnafter_reveal_v1 (below).

ALTER TABLE receipts DROP CONSTRAINT receipts_state_check;
UPDATE receipts
SET state = CASE state WHEN 'viewed' THEN 'spent' ELSE 'burned' END
WHERE state IN ('viewed', 'locked');
ALTER TABLE receipts ADD CONSTRAINT receipts_state_check
    CHECK (state IN ('active', 'spent', 'expired', 'revoked', 'burned'));

ALTER TABLE access_events DROP CONSTRAINT access_events_event_check;
UPDATE access_events
SET event = CASE event WHEN 'unlock_failed' THEN 'wrong_passphrase' ELSE 'burned' END
WHERE event IN ('unlock_failed', 'locked');
ALTER TABLE access_events ADD CONSTRAINT access_events_event_check
    CHECK (event IN ('created', 'viewed', 'wrong_passphrase', 'burned', 'revoked', 'expired'));

-- Equality of two byte strings that reads every byte whatever they hold: no early
-- exit on the first difference, so the time says nothing about a verifier.
CREATE FUNCTION burnafter_same_bytes_v1(a bytea, b bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT length(a) = length(b)
       AND (SELECT bit_or(get_byte(a, i) # get_byte(b, i))
            FROM generate_series(0, length(a) - 1) AS i) = 0
$$;

-- A reveal in one round trip, in one statement's transaction, holding the secret's
-- row lock (SELECT ... FOR UPDATE) from the first read to the commit; lock order is
-- secrets row, then receipts row. The api sends SHA-256 of the proofs, never the
-- proofs. outcome is one of: revealed (ciphertext and views_left set), not_found
-- (unknown, expired, or wrong claim: indistinguishable), passphrase_required
-- (attempts_left set; nothing spent), wrong_passphrase (attempts_left set; one
-- attempt spent, the last one burns the secret).
CREATE FUNCTION burnafter_reveal_v1(
    secret_id text,
    claim_verifier bytea,
    unlock_verifier bytea,
    client_address text,
    user_agent text,
    OUT outcome text,
    OUT ciphertext bytea,
    OUT views_left integer,
    OUT attempts_left integer
)
LANGUAGE plpgsql AS $$
DECLARE
    stored_claim  bytea;
    stored_unlock bytea;
    views         integer;
    attempts      integer;
    last          boolean;
BEGIN
    SELECT s.claim_verifier, s.unlock_verifier, s.views_left, s.attempts_left
    INTO stored_claim, stored_unlock, views, attempts
    FROM secrets AS s
    WHERE s.id = burnafter_reveal_v1.secret_id AND s.expires_at > now()
    FOR UPDATE;
    IF NOT FOUND
       OR NOT burnafter_same_bytes_v1(burnafter_reveal_v1.claim_verifier, stored_claim) THEN
        outcome := 'not_found';
        RETURN;
    END IF;

    IF stored_unlock IS NOT NULL AND burnafter_reveal_v1.unlock_verifier IS NULL THEN
        outcome := 'passphrase_required';
        attempts_left := attempts;
        RETURN;
    END IF;

    IF stored_unlock IS NULL
       OR burnafter_same_bytes_v1(burnafter_reveal_v1.unlock_verifier, stored_unlock) THEN
        last := views = 1;
        IF last THEN
            DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v1.secret_id
            RETURNING s.ciphertext INTO burnafter_reveal_v1.ciphertext;
        ELSE
            UPDATE secrets AS s SET views_left = s.views_left - 1
            WHERE s.id = burnafter_reveal_v1.secret_id
            RETURNING s.ciphertext INTO burnafter_reveal_v1.ciphertext;
        END IF;
        UPDATE receipts AS r
        SET views = r.views + 1,
            state = CASE WHEN last THEN 'spent' ELSE r.state END,
            ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
        WHERE r.id = burnafter_reveal_v1.secret_id;
        INSERT INTO access_events (secret_id, event, client_address, user_agent)
        VALUES (burnafter_reveal_v1.secret_id, 'viewed',
                burnafter_reveal_v1.client_address, burnafter_reveal_v1.user_agent);
        outcome := 'revealed';
        views_left := views - 1;
        RETURN;
    END IF;

    attempts_left := attempts - 1;
    last := attempts_left = 0;
    IF last THEN
        DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v1.secret_id;
    ELSE
        UPDATE secrets AS s SET attempts_left = s.attempts_left - 1
        WHERE s.id = burnafter_reveal_v1.secret_id;
    END IF;
    UPDATE receipts AS r
    SET failed_attempts = r.failed_attempts + 1,
        state = CASE WHEN last THEN 'burned' ELSE r.state END,
        ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
    WHERE r.id = burnafter_reveal_v1.secret_id;
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    SELECT burnafter_reveal_v1.secret_id, event,
           burnafter_reveal_v1.client_address, burnafter_reveal_v1.user_agent
    FROM unnest(CASE WHEN last THEN ARRAY['wrong_passphrase', 'burned']
                     ELSE ARRAY['wrong_passphrase'] END) AS event;
    outcome := 'wrong_passphrase';
END
$$;

-- Pods of the previous release call burnafter_reveal (no suffix) until the rolling
-- deploy replaces them: the same name and signature, now a thin wrapper. A later
-- migration drops it, once no release that calls it can still run.
CREATE OR REPLACE FUNCTION burnafter_reveal(
    secret_id text,
    claim_verifier bytea,
    unlock_verifier bytea,
    client_address text,
    user_agent text,
    OUT outcome text,
    OUT ciphertext bytea,
    OUT views_left integer,
    OUT attempts_left integer
)
LANGUAGE sql AS $$
    SELECT * FROM burnafter_reveal_v1(secret_id, claim_verifier, unlock_verifier,
                                      client_address, user_agent)
$$;
DROP FUNCTION burnafter_same_bytes(bytea, bytea);

-- Every path that records a viewed, burned, revoked or expired event (reveal,
-- revoke, the reaper) fills the webhook outbox in the same transaction: one
-- statement per statement, not per row, so the reaper's batches stay batches. The
-- outbox holds the event as it is sent: its v1 webhook name (secret.locked for a
-- burned secret; services/store/vocabulary.py WEBHOOK_EVENTS).
CREATE FUNCTION burnafter_enqueue_webhooks_v1() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (secret_id, endpoint, event, sender, occurred_at)
    SELECT e.secret_id, endpoint,
           'secret.' || CASE e.event WHEN 'burned' THEN 'locked' ELSE e.event END,
           r.creator, e.at
    FROM inserted AS e
    -- OFFSET 0 keeps this a lookup by primary key per event: flattened into a
    -- join, the planner may hash all of receipts for a reaper's batch.
    CROSS JOIN LATERAL (
        SELECT creator, notify FROM receipts
        WHERE id = e.secret_id AND notify <> '{}'
        OFFSET 0
    ) AS r
    CROSS JOIN LATERAL unnest(r.notify) AS endpoint
    WHERE e.event IN ('viewed', 'burned', 'revoked', 'expired');
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER access_events_enqueue_webhooks
AFTER INSERT ON access_events
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION burnafter_enqueue_webhooks_v1();
DROP FUNCTION burnafter_enqueue_webhooks();
