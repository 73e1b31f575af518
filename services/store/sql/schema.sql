-- The current schema, as replaying every migration in migrations/ produces it (a
-- test builds one database from each and compares their catalogs). Read this to
-- know the schema; change it by adding a migration, then mirror it here. The
-- words in the CHECK constraints are services/store/vocabulary.py's (tested too).
-- The migration ledger, schema_migrations, belongs to services/store/migrations.py.

-- The live secrets: ciphertext and verifiers only. A row is deleted (not flagged)
-- on its last view, on revoke, when burned, by the reaper, and by its recipient
-- when its sender allowed that (recipient_may_delete). quota_key is a keyed
-- hash of who sent it, when a quota per sender is set (storage_usage below).
CREATE TABLE secrets (
    id              text PRIMARY KEY,
    ciphertext      bytea NOT NULL,
    claim_verifier  bytea NOT NULL,
    unlock_verifier bytea,
    views_left      integer NOT NULL CHECK (views_left > 0),
    attempts_left   integer NOT NULL CHECK (attempts_left > 0),
    expires_at      timestamptz NOT NULL,
    quota_key       text,
    recipient_may_delete boolean NOT NULL DEFAULT false
);
CREATE INDEX secrets_expires_at_idx ON secrets (expires_at);

-- Ciphertext bytes held: one row for all secrets ('all'), one per quota_key. A
-- create reserves its size here in the statement that stores it, holding the lock
-- on 'all' to its commit, so the cap holds exactly under concurrency; ends of
-- secrets do not write here, a recount gives freed bytes back
-- (burnafter_recount_storage_v1, run by the reaper and by the api before it
-- refuses).
CREATE TABLE storage_usage (
    scope text PRIMARY KEY,  -- 'all', or a secret's quota_key
    bytes bigint NOT NULL CHECK (bytes >= 0)
);
INSERT INTO storage_usage (scope, bytes) VALUES ('all', 0);

-- What the sender's receipt link shows; kept for a retention period after the
-- secret ends, then purged by the reaper. notify names the operator-configured
-- webhook endpoints the sender asked to tell; creator names the sender.
CREATE TABLE receipts (
    id               text PRIMARY KEY,
    manage_verifier  bytea NOT NULL,
    label            bytea,
    state            text NOT NULL DEFAULT 'active'
                     CHECK (state IN ('active', 'spent', 'expired', 'revoked', 'burned',
                                      'deleted')),
    max_views        integer NOT NULL,
    views            integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL,
    failed_attempts  integer NOT NULL DEFAULT 0,
    passphrase       boolean NOT NULL,
    ciphertext_bytes integer NOT NULL,
    creator          text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    ended_at         timestamptz,
    notify           text[] NOT NULL DEFAULT '{}',
    recipient_may_delete boolean NOT NULL DEFAULT false,
    CHECK ((state = 'active') = (ended_at IS NULL))
);
CREATE INDEX receipts_ended_at_idx ON receipts (ended_at) WHERE ended_at IS NOT NULL;

-- One row per lifecycle event of a secret, keyed by the secret so the schema
-- can be distributed by id.
CREATE TABLE access_events (
    secret_id      text NOT NULL REFERENCES receipts (id) ON DELETE CASCADE,
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    at             timestamptz NOT NULL DEFAULT now(),
    event          text NOT NULL CHECK (event IN
                   ('created', 'viewed', 'wrong_passphrase', 'burned', 'revoked', 'expired',
                    'deleted')),
    client_address text,
    user_agent     text,
    PRIMARY KEY (secret_id, seq)
);
-- The admin dashboard reads events by time (daily counts, audit history) and
-- wrong passphrases by time. The hot path never uses these.
CREATE INDEX access_events_at_idx ON access_events (at);
CREATE INDEX access_events_event_at_idx ON access_events (event, at);

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

-- The webhook outbox: one row per (event, endpoint), written in the transaction
-- that changes the secret, delivered by the reaper's dispatcher, which takes rows
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

-- Equality of two byte strings that reads every byte whatever they hold: no early
-- exit on the first difference, so the time says nothing about a verifier. NULL
-- and empty input are never equal.
CREATE FUNCTION burnafter_same_bytes_v2(a bytea, b bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN a IS NULL OR b IS NULL OR length(a) <> length(b) OR length(a) = 0 THEN false
        ELSE (SELECT bit_or(get_byte(a, i) # get_byte(b, i))
              FROM generate_series(0, length(a) - 1) AS i) = 0
    END
$$;

-- A reveal in one round trip, in one statement's transaction. The claim is checked
-- first, without a lock or a write, against the stored verifier or, when no live
-- row has the id, a stand-in: a wrong claim costs what an unknown id costs, so the
-- time says nothing of whether the secret exists. A right claim then locks the row
-- (SELECT ... FOR UPDATE) until the commit and checks again; lock order is secrets
-- row, then receipts row. Every check refuses unless it is TRUE. The api sends
-- SHA-256 of the proofs, never the proofs. outcome is one of: revealed (ciphertext
-- and views_left set), not_found (unknown, expired, or wrong claim:
-- indistinguishable), passphrase_required (attempts_left set; nothing spent),
-- wrong_passphrase (attempts_left set; one attempt spent, the last one burns the
-- secret). With action 'delete', a holder of the link (and of the passphrase, if
-- any) deletes the secret instead: outcome deleted, or not_allowed when its sender
-- did not allow it; the passphrase is checked and counted as for a reveal.
-- recipient_may_delete is set once the claim is right.
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

-- Kept for pods of the release before 0007 during its rolling deploy.
CREATE FUNCTION burnafter_reveal_v2(
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

-- Kept for pods of the release before 0006 during its rolling deploy.
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
LANGUAGE sql AS $$
    SELECT * FROM burnafter_reveal_v2(secret_id, claim_verifier, unlock_verifier,
                                      client_address, user_agent)
$$;

-- A create in one statement: reserve the ciphertext's size on 'all' (against
-- storage_cap) and on the sender's quota_key (against quota), then store the
-- secret, its receipt and its 'created' event.
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

-- Kept for pods of the release before 0007 during its rolling deploy.
CREATE FUNCTION burnafter_create_secret_v1(
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

-- Give the bytes of ended secrets back: count storage_usage again from the
-- secrets that are left, under the lock creates take.
CREATE FUNCTION burnafter_recount_storage_v1(OUT stored_bytes bigint)
LANGUAGE plpgsql AS $$
BEGIN
    -- Creates hold this lock to their commit: past it, every secret they made is
    -- visible to the statements below (each takes a new snapshot).
    PERFORM 1 FROM storage_usage WHERE scope = 'all' FOR UPDATE;
    DELETE FROM storage_usage WHERE scope <> 'all';
    INSERT INTO storage_usage (scope, bytes)
    SELECT quota_key, sum(length(ciphertext)) FROM secrets
    WHERE quota_key IS NOT NULL GROUP BY quota_key;
    UPDATE storage_usage
    SET bytes = (SELECT coalesce(sum(length(ciphertext)), 0) FROM secrets)
    WHERE scope = 'all'
    RETURNING bytes INTO stored_bytes;
END
$$;

-- Every path that records a viewed, burned, revoked, expired or deleted event
-- (reveal, revoke, the reaper) fills the webhook outbox in the same transaction: one
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
    WHERE e.event IN ('viewed', 'burned', 'revoked', 'expired', 'deleted');
    RETURN NULL;
END
$$;

CREATE TRIGGER access_events_enqueue_webhooks
AFTER INSERT ON access_events
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION burnafter_enqueue_webhooks_v1();
