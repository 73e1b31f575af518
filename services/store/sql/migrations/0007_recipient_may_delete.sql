-- A recipient may delete a secret when done with it, where its sender allowed it
-- (issue 14; Password Pusher calls it "deletable by viewer"): a multi-view secret
-- then need not stay readable to whoever gets the link next.
--
-- secrets and receipts get recipient_may_delete; receipts a state and
-- access_events an event 'deleted'. The delete goes through the reveal's checks,
-- in burnafter_reveal_v3 with action 'delete': the same claim check before the
-- lock, and a wrong passphrase spends an attempt exactly as a reveal does, so a
-- delete is no way round the count of guesses. burnafter_reveal_v2 and
-- burnafter_create_secret_v1 keep their signatures for the pods of the release
-- before this one, as wrappers. burnafter_reveal, kept since 0005 for pods two
-- releases back, goes.

ALTER TABLE secrets ADD COLUMN recipient_may_delete boolean NOT NULL DEFAULT false;
ALTER TABLE receipts ADD COLUMN recipient_may_delete boolean NOT NULL DEFAULT false;

ALTER TABLE receipts DROP CONSTRAINT receipts_state_check;
ALTER TABLE receipts ADD CONSTRAINT receipts_state_check
    CHECK (state IN ('active', 'spent', 'expired', 'revoked', 'burned', 'deleted'));
ALTER TABLE access_events DROP CONSTRAINT access_events_event_check;
ALTER TABLE access_events ADD CONSTRAINT access_events_event_check
    CHECK (event IN ('created', 'viewed', 'wrong_passphrase', 'burned', 'revoked', 'expired',
                     'deleted'));

DROP FUNCTION burnafter_reveal(text, bytea, bytea, text, text);

CREATE FUNCTION burnafter_reveal_v3(
    secret_id text,
    claim_verifier bytea,
    unlock_verifier bytea,
    client_address text,
    user_agent text,
    action text,  -- 'reveal' or 'delete'
    OUT outcome text,
    OUT ciphertext bytea,
    OUT views_left integer,
    OUT attempts_left integer,
    OUT recipient_may_delete boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    -- Compared with when no live row has the id, so that path does the same work.
    stand_in      CONSTANT bytea := decode(repeat('00', 32), 'hex');
    stored_claim  bytea;
    stored_unlock bytea;
    views         integer;
    attempts      integer;
    may_delete    boolean;
    last          boolean;
BEGIN
    SELECT s.claim_verifier INTO stored_claim
    FROM secrets AS s
    WHERE s.id = burnafter_reveal_v3.secret_id AND s.expires_at > now();
    IF burnafter_same_bytes_v2(burnafter_reveal_v3.claim_verifier,
                               coalesce(stored_claim, stand_in)) IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;

    SELECT s.claim_verifier, s.unlock_verifier, s.views_left, s.attempts_left,
           s.recipient_may_delete
    INTO stored_claim, stored_unlock, views, attempts, may_delete
    FROM secrets AS s
    WHERE s.id = burnafter_reveal_v3.secret_id AND s.expires_at > now()
    FOR UPDATE;
    IF NOT FOUND
       OR burnafter_same_bytes_v2(burnafter_reveal_v3.claim_verifier, stored_claim)
          IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    recipient_may_delete := may_delete;

    IF stored_unlock IS NOT NULL AND burnafter_reveal_v3.unlock_verifier IS NULL THEN
        outcome := 'passphrase_required';
        attempts_left := attempts;
        RETURN;
    END IF;

    IF stored_unlock IS NULL
       OR burnafter_same_bytes_v2(burnafter_reveal_v3.unlock_verifier, stored_unlock) THEN
        IF action = 'delete' THEN
            IF NOT may_delete THEN
                outcome := 'not_allowed';
                RETURN;
            END IF;
            DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v3.secret_id;
            UPDATE receipts AS r SET state = 'deleted', ended_at = now()
            WHERE r.id = burnafter_reveal_v3.secret_id;
            INSERT INTO access_events (secret_id, event, client_address, user_agent)
            VALUES (burnafter_reveal_v3.secret_id, 'deleted',
                    burnafter_reveal_v3.client_address, burnafter_reveal_v3.user_agent);
            outcome := 'deleted';
            RETURN;
        END IF;
        last := views = 1;
        IF last THEN
            DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v3.secret_id
            RETURNING s.ciphertext INTO burnafter_reveal_v3.ciphertext;
        ELSE
            UPDATE secrets AS s SET views_left = s.views_left - 1
            WHERE s.id = burnafter_reveal_v3.secret_id
            RETURNING s.ciphertext INTO burnafter_reveal_v3.ciphertext;
        END IF;
        UPDATE receipts AS r
        SET views = r.views + 1,
            state = CASE WHEN last THEN 'spent' ELSE r.state END,
            ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
        WHERE r.id = burnafter_reveal_v3.secret_id;
        INSERT INTO access_events (secret_id, event, client_address, user_agent)
        VALUES (burnafter_reveal_v3.secret_id, 'viewed',
                burnafter_reveal_v3.client_address, burnafter_reveal_v3.user_agent);
        outcome := 'revealed';
        views_left := views - 1;
        RETURN;
    END IF;

    attempts_left := attempts - 1;
    last := attempts_left = 0;
    IF last THEN
        DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v3.secret_id;
    ELSE
        UPDATE secrets AS s SET attempts_left = s.attempts_left - 1
        WHERE s.id = burnafter_reveal_v3.secret_id;
    END IF;
    UPDATE receipts AS r
    SET failed_attempts = r.failed_attempts + 1,
        state = CASE WHEN last THEN 'burned' ELSE r.state END,
        ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
    WHERE r.id = burnafter_reveal_v3.secret_id;
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    SELECT burnafter_reveal_v3.secret_id, event,
           burnafter_reveal_v3.client_address, burnafter_reveal_v3.user_agent
    FROM unnest(CASE WHEN last THEN ARRAY['wrong_passphrase', 'burned']
                     ELSE ARRAY['wrong_passphrase'] END) AS event;
    outcome := 'wrong_passphrase';
END
$$;

CREATE OR REPLACE FUNCTION burnafter_reveal_v2(
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
    SELECT outcome, ciphertext, views_left, attempts_left
    FROM burnafter_reveal_v3(secret_id, claim_verifier, unlock_verifier,
                             client_address, user_agent, 'reveal')
$$;

CREATE FUNCTION burnafter_create_secret_v2(
    secret_id text,
    ciphertext bytea,
    claim_verifier bytea,
    unlock_verifier bytea,
    max_views integer,
    max_attempts integer,
    expires_in double precision,
    manage_verifier bytea,
    label bytea,
    client_address text,
    user_agent text,
    creator text,
    notify text[],
    storage_cap bigint,  -- 0: no cap
    quota_key text,
    quota bigint,        -- 0: no quota per sender
    recipient_may_delete boolean,
    OUT outcome text,    -- created, storage_full or quota_full
    OUT expires_at timestamptz,
    OUT stored_bytes bigint  -- all secrets' bytes after this one, when counted
)
LANGUAGE plpgsql AS $$
DECLARE
    size bigint := length(burnafter_create_secret_v2.ciphertext);
BEGIN
    IF storage_cap > 0 OR quota > 0 THEN
        UPDATE storage_usage AS u SET bytes = u.bytes + size
        WHERE u.scope = 'all' AND (storage_cap = 0 OR u.bytes + size <= storage_cap)
        RETURNING u.bytes INTO stored_bytes;
        IF NOT FOUND THEN
            outcome := 'storage_full';
            RETURN;
        END IF;
    END IF;
    IF quota > 0 THEN
        INSERT INTO storage_usage AS u (scope, bytes)
        SELECT burnafter_create_secret_v2.quota_key, size WHERE size <= quota
        ON CONFLICT (scope) DO UPDATE SET bytes = u.bytes + EXCLUDED.bytes
        WHERE u.bytes + EXCLUDED.bytes <= quota;
        IF NOT FOUND THEN
            UPDATE storage_usage AS u SET bytes = u.bytes - size WHERE u.scope = 'all';
            stored_bytes := NULL;
            outcome := 'quota_full';
            RETURN;
        END IF;
    END IF;

    INSERT INTO secrets AS s (id, ciphertext, claim_verifier, unlock_verifier,
                              views_left, attempts_left, expires_at, quota_key,
                              recipient_may_delete)
    VALUES (secret_id, ciphertext, claim_verifier, unlock_verifier, max_views,
            max_attempts, now() + make_interval(secs => expires_in),
            CASE WHEN quota > 0 THEN burnafter_create_secret_v2.quota_key END,
            recipient_may_delete)
    RETURNING s.expires_at INTO burnafter_create_secret_v2.expires_at;
    INSERT INTO receipts (id, manage_verifier, label, max_views, max_attempts,
                          passphrase, ciphertext_bytes, expires_at, creator, notify,
                          recipient_may_delete)
    VALUES (secret_id, manage_verifier, label, max_views, max_attempts,
            unlock_verifier IS NOT NULL, size, burnafter_create_secret_v2.expires_at,
            creator, notify, recipient_may_delete);
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    VALUES (secret_id, 'created', client_address, user_agent);
    outcome := 'created';
END
$$;

CREATE OR REPLACE FUNCTION burnafter_create_secret_v1(
    secret_id text,
    ciphertext bytea,
    claim_verifier bytea,
    unlock_verifier bytea,
    max_views integer,
    max_attempts integer,
    expires_in double precision,
    manage_verifier bytea,
    label bytea,
    client_address text,
    user_agent text,
    creator text,
    notify text[],
    storage_cap bigint,  -- 0: no cap
    quota_key text,
    quota bigint,        -- 0: no quota per sender
    OUT outcome text,    -- created, storage_full or quota_full
    OUT expires_at timestamptz,
    OUT stored_bytes bigint  -- all secrets' bytes after this one, when counted
)
LANGUAGE sql AS $$
    SELECT * FROM burnafter_create_secret_v2(
        secret_id, ciphertext, claim_verifier, unlock_verifier, max_views, max_attempts,
        expires_in, manage_verifier, label, client_address, user_agent, creator, notify,
        storage_cap, quota_key, quota, false)
$$;

-- The webhook outbox tells of a recipient's delete too (secret.deleted).
CREATE OR REPLACE FUNCTION burnafter_enqueue_webhooks_v1() RETURNS trigger
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
    WHERE e.event IN ('viewed', 'burned', 'revoked', 'expired', 'deleted');
    RETURN NULL;
END
$$;
