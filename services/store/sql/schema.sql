-- The current schema, as replaying every migration in migrations/ produces it (a
-- test builds one database from each and compares their catalogs). Read this to
-- know the schema; change it by adding a migration, then mirror it here. The
-- words in the CHECK constraints are services/store/vocabulary.py's (tested too).
-- The migration ledger, schema_migrations, belongs to services/store/migrations.py.

-- Protocol v2 contents (docs/architecture.md, "Contents in segments"): sealed once
-- by the sender's client, in segments; segment 0 comes with the create, the others
-- by index while 'uploading', until finalize makes the content live. A content is
-- deleted (segments and grants by cascade) once no link references it and no
-- download grant on it is open: at once by the path that ended the last hold
-- (burnafter_release_content_v1), or by the reaper's sweep when time ended it.
CREATE TABLE contents (
    id                text PRIMARY KEY,
    state             text NOT NULL CHECK (state IN ('uploading', 'live', 'released')),
    segment_size      integer NOT NULL CHECK (segment_size > 0),
    segment_count     integer NOT NULL CHECK (segment_count > 0),
    sealed_bytes      bigint NOT NULL,
    received          integer NOT NULL,
    upload_verifier   bytea,
    upload_expires_at timestamptz,
    quota_key         text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (received BETWEEN 1 AND segment_count),
    CHECK (state <> 'live' OR received = segment_count),
    CHECK (state <> 'uploading' OR (upload_verifier IS NOT NULL AND upload_expires_at IS NOT NULL))
);
CREATE INDEX contents_uploading_idx ON contents (upload_expires_at) WHERE state = 'uploading';

CREATE TABLE segments (
    content_id text NOT NULL REFERENCES contents (id) ON DELETE CASCADE,
    index      integer NOT NULL CHECK (index >= 0),
    data       bytea NOT NULL,
    PRIMARY KEY (content_id, index)
);
-- Sealed segments are AES-GCM output: they do not compress. EXTERNAL keeps them
-- out of line (TOAST) but skips pglz, which would try every segment and fail,
-- costing CPU on each write; reading one back then needs no decompression either.
ALTER TABLE segments ALTER COLUMN data SET STORAGE EXTERNAL;

-- A reveal of a content of more than one segment makes one grant: SHA-256 of a
-- random token the api hands out, good for the segments until completed or expired.
CREATE TABLE download_grants (
    verifier     bytea PRIMARY KEY,
    content_id   text NOT NULL REFERENCES contents (id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL,
    completed_at timestamptz,
    link_id      text  -- the link revealed; its segments are fetched by this id
);
CREATE INDEX download_grants_content_id_idx ON download_grants (content_id);

-- The live secrets (share links): ciphertext or, for a v2 link, its content and the
-- content key wrapped for it; and verifiers. A row is deleted (not flagged)
-- on its last view, on revoke, when burned, by the reaper, and by its recipient
-- when its sender allowed that (recipient_may_delete). quota_key is a keyed
-- hash of who sent it, when a quota per sender is set (storage_usage below); a v2
-- link's content holds it instead.
CREATE TABLE secrets (
    id              text PRIMARY KEY,
    ciphertext      bytea,
    claim_verifier  bytea NOT NULL,
    unlock_verifier bytea,
    views_left      integer NOT NULL CHECK (views_left > 0),
    attempts_left   integer NOT NULL CHECK (attempts_left > 0),
    expires_at      timestamptz NOT NULL,
    quota_key       text,
    recipient_may_delete boolean NOT NULL DEFAULT false,
    content_id      text REFERENCES contents (id),
    wrapped_key     bytea,
    CONSTRAINT secrets_one_body_check
        CHECK ((ciphertext IS NULL) <> (content_id IS NULL)
               AND (content_id IS NULL) = (wrapped_key IS NULL))
);
CREATE INDEX secrets_expires_at_idx ON secrets (expires_at);
CREATE INDEX secrets_content_id_idx ON secrets (content_id) WHERE content_id IS NOT NULL;

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
-- A share of several recipients (docs/architecture.md, "Several recipients") is a
-- receipts row per link, all with the first link's id as share_id (the share's id)
-- and the same manage verifier, numbered by recipient; recipient_name is sealed
-- under the receipt key, never read here. share_id is NULL for a link made alone.
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
    ciphertext_bytes bigint NOT NULL,
    creator          text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    ended_at         timestamptz,
    notify           text[] NOT NULL DEFAULT '{}',
    recipient_may_delete boolean NOT NULL DEFAULT false,
    share_id         text,
    recipient        integer,
    recipient_name   bytea,
    CHECK ((state = 'active') = (ended_at IS NULL)),
    CONSTRAINT receipts_recipient_check
        CHECK ((share_id IS NULL) = (recipient IS NULL) AND recipient >= 0)
);
CREATE INDEX receipts_ended_at_idx ON receipts (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX receipts_share_id_idx ON receipts (share_id) WHERE share_id IS NOT NULL;

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
-- recipient_may_delete is set once the claim is right. A v2 link (content_id set;
-- ciphertext NULL) is found only when its content is live, and by a caller that
-- passes a grant lifetime or deletes: its reveal returns the wrapped key, the
-- content's sizes and segment 0, and, for more than one segment, makes a download
-- grant in the same transaction; every end of the link releases the content
-- (burnafter_release_content_v1). Lock order: secrets, receipts, contents row.
CREATE FUNCTION burnafter_reveal_v4(
    secret_id text,
    claim_verifier bytea,
    unlock_verifier bytea,
    client_address text,
    user_agent text,
    action text,  -- 'reveal' or 'delete'
    grant_verifier bytea,  -- SHA-256 of a download grant's token
    grant_expires_in double precision,  -- NULL: the caller answers v1 links only
    OUT outcome text,
    OUT ciphertext bytea,  -- a v1 link's
    OUT views_left integer,
    OUT attempts_left integer,
    OUT recipient_may_delete boolean,
    OUT wrapped_key bytea,  -- a v2 link's, and its content's:
    OUT segment_size integer,
    OUT segment_count integer,
    OUT sealed_bytes bigint,
    OUT first_segment bytea,
    OUT grant_expires_at timestamptz  -- when segment_count > 1
)
LANGUAGE plpgsql AS $$
DECLARE
    -- Compared with when no live row has the id, so that path does the same work.
    stand_in      CONSTANT bytea := decode(repeat('00', 32), 'hex');
    -- A v2 link is found only by a caller that can answer it, or delete it.
    any_link      CONSTANT boolean := burnafter_reveal_v4.grant_expires_in IS NOT NULL
                                      OR action = 'delete';
    stored_claim  bytea;
    stored_unlock bytea;
    content       text;
    views         integer;
    attempts      integer;
    may_delete    boolean;
    last          boolean;
BEGIN
    SELECT s.claim_verifier INTO stored_claim
    FROM secrets AS s
    WHERE s.id = burnafter_reveal_v4.secret_id AND s.expires_at > now()
      AND (s.content_id IS NULL
           OR any_link AND EXISTS (SELECT 1 FROM contents AS c
                                   WHERE c.id = s.content_id AND c.state = 'live'));
    IF burnafter_same_bytes_v2(burnafter_reveal_v4.claim_verifier,
                               coalesce(stored_claim, stand_in)) IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;

    SELECT s.claim_verifier, s.unlock_verifier, s.views_left, s.attempts_left,
           s.recipient_may_delete, s.content_id
    INTO stored_claim, stored_unlock, views, attempts, may_delete, content
    FROM secrets AS s
    WHERE s.id = burnafter_reveal_v4.secret_id AND s.expires_at > now()
      AND (s.content_id IS NULL
           OR any_link AND EXISTS (SELECT 1 FROM contents AS c
                                   WHERE c.id = s.content_id AND c.state = 'live'))
    FOR UPDATE OF s;
    IF NOT FOUND
       OR burnafter_same_bytes_v2(burnafter_reveal_v4.claim_verifier, stored_claim)
          IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    recipient_may_delete := may_delete;

    IF stored_unlock IS NOT NULL AND burnafter_reveal_v4.unlock_verifier IS NULL THEN
        outcome := 'passphrase_required';
        attempts_left := attempts;
        RETURN;
    END IF;

    IF stored_unlock IS NULL
       OR burnafter_same_bytes_v2(burnafter_reveal_v4.unlock_verifier, stored_unlock) THEN
        IF action = 'delete' THEN
            IF NOT may_delete THEN
                outcome := 'not_allowed';
                RETURN;
            END IF;
            DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v4.secret_id;
            UPDATE receipts AS r SET state = 'deleted', ended_at = now()
            WHERE r.id = burnafter_reveal_v4.secret_id;
            INSERT INTO access_events (secret_id, event, client_address, user_agent)
            VALUES (burnafter_reveal_v4.secret_id, 'deleted',
                    burnafter_reveal_v4.client_address, burnafter_reveal_v4.user_agent);
            IF content IS NOT NULL THEN
                PERFORM burnafter_release_content_v1(content);
            END IF;
            outcome := 'deleted';
            RETURN;
        END IF;
        last := views = 1;
        IF last THEN
            DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v4.secret_id
            RETURNING s.ciphertext, s.wrapped_key
            INTO burnafter_reveal_v4.ciphertext, burnafter_reveal_v4.wrapped_key;
        ELSE
            UPDATE secrets AS s SET views_left = s.views_left - 1
            WHERE s.id = burnafter_reveal_v4.secret_id
            RETURNING s.ciphertext, s.wrapped_key
            INTO burnafter_reveal_v4.ciphertext, burnafter_reveal_v4.wrapped_key;
        END IF;
        UPDATE receipts AS r
        SET views = r.views + 1,
            state = CASE WHEN last THEN 'spent' ELSE r.state END,
            ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
        WHERE r.id = burnafter_reveal_v4.secret_id;
        INSERT INTO access_events (secret_id, event, client_address, user_agent)
        VALUES (burnafter_reveal_v4.secret_id, 'viewed',
                burnafter_reveal_v4.client_address, burnafter_reveal_v4.user_agent);
        IF content IS NOT NULL THEN
            -- Locked before the grant is made, so that reveals of several links of
            -- one content take turns rather than deadlock over their grants' keys.
            SELECT c.segment_size, c.segment_count, c.sealed_bytes
            INTO burnafter_reveal_v4.segment_size, burnafter_reveal_v4.segment_count,
                 burnafter_reveal_v4.sealed_bytes
            FROM contents AS c WHERE c.id = content
            FOR UPDATE;
            SELECT g.data INTO first_segment
            FROM segments AS g WHERE g.content_id = content AND g.index = 0;
            IF burnafter_reveal_v4.segment_count > 1 THEN
                INSERT INTO download_grants AS g (verifier, content_id, expires_at)
                VALUES (grant_verifier, content,
                        now() + make_interval(secs => grant_expires_in))
                RETURNING g.expires_at INTO grant_expires_at;
            END IF;
            IF last THEN
                PERFORM burnafter_release_content_v1(content);
            END IF;
        END IF;
        outcome := 'revealed';
        views_left := views - 1;
        RETURN;
    END IF;

    attempts_left := attempts - 1;
    last := attempts_left = 0;
    IF last THEN
        DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v4.secret_id;
    ELSE
        UPDATE secrets AS s SET attempts_left = s.attempts_left - 1
        WHERE s.id = burnafter_reveal_v4.secret_id;
    END IF;
    UPDATE receipts AS r
    SET failed_attempts = r.failed_attempts + 1,
        state = CASE WHEN last THEN 'burned' ELSE r.state END,
        ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
    WHERE r.id = burnafter_reveal_v4.secret_id;
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    SELECT burnafter_reveal_v4.secret_id, event,
           burnafter_reveal_v4.client_address, burnafter_reveal_v4.user_agent
    FROM unnest(CASE WHEN last THEN ARRAY['wrong_passphrase', 'burned']
                     ELSE ARRAY['wrong_passphrase'] END) AS event;
    IF last AND content IS NOT NULL THEN
        PERFORM burnafter_release_content_v1(content);
    END IF;
    outcome := 'wrong_passphrase';
END
$$;

-- The reveal (migration 0015): burnafter_reveal_v4's checks and outcomes, in one
-- lookup that locks the row only when the claim verifier equals the stored one
-- (plain equality: docs/security.md), and a download grant names its link as it is
-- made. burnafter_reveal_v5 and v4 stay for the pods of the previous release.
CREATE FUNCTION burnafter_reveal_v6(
    secret_id text,
    claim_verifier bytea,
    unlock_verifier bytea,
    client_address text,
    user_agent text,
    action text,  -- 'reveal' or 'delete'
    grant_verifier bytea,  -- SHA-256 of a download grant's token
    grant_expires_in double precision,  -- NULL: the caller answers v1 links only
    OUT outcome text,
    OUT ciphertext bytea,  -- a v1 link's
    OUT views_left integer,
    OUT attempts_left integer,
    OUT recipient_may_delete boolean,
    OUT wrapped_key bytea,  -- a v2 link's, and its content's:
    OUT segment_size integer,
    OUT segment_count integer,
    OUT sealed_bytes bigint,
    OUT first_segment bytea,
    OUT grant_expires_at timestamptz  -- when segment_count > 1
)
LANGUAGE plpgsql AS $$
DECLARE
    -- A v2 link is found only by a caller that can answer it, or delete it.
    any_link      CONSTANT boolean := burnafter_reveal_v6.grant_expires_in IS NOT NULL
                                      OR action = 'delete';
    stored_unlock bytea;
    content       text;
    views         integer;
    attempts      integer;
    may_delete    boolean;
    last          boolean;
BEGIN
    -- Rows are locked only once every condition holds: the claim is checked first.
    SELECT s.unlock_verifier, s.views_left, s.attempts_left, s.recipient_may_delete,
           s.content_id
    INTO stored_unlock, views, attempts, may_delete, content
    FROM secrets AS s
    WHERE s.id = burnafter_reveal_v6.secret_id
      AND s.claim_verifier = burnafter_reveal_v6.claim_verifier
      AND s.expires_at > now()
      AND (s.content_id IS NULL
           OR any_link AND EXISTS (SELECT 1 FROM contents AS c
                                   WHERE c.id = s.content_id AND c.state = 'live'))
    FOR UPDATE OF s;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    recipient_may_delete := may_delete;

    IF stored_unlock IS NOT NULL AND burnafter_reveal_v6.unlock_verifier IS NULL THEN
        outcome := 'passphrase_required';
        attempts_left := attempts;
        RETURN;
    END IF;

    IF stored_unlock IS NULL OR burnafter_reveal_v6.unlock_verifier = stored_unlock THEN
        IF action = 'delete' THEN
            IF NOT may_delete THEN
                outcome := 'not_allowed';
                RETURN;
            END IF;
            DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v6.secret_id;
            UPDATE receipts AS r SET state = 'deleted', ended_at = now()
            WHERE r.id = burnafter_reveal_v6.secret_id;
            INSERT INTO access_events (secret_id, event, client_address, user_agent)
            VALUES (burnafter_reveal_v6.secret_id, 'deleted',
                    burnafter_reveal_v6.client_address, burnafter_reveal_v6.user_agent);
            IF content IS NOT NULL THEN
                PERFORM burnafter_release_content_v1(content);
            END IF;
            outcome := 'deleted';
            RETURN;
        END IF;
        last := views = 1;
        IF last THEN
            DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v6.secret_id
            RETURNING s.ciphertext, s.wrapped_key
            INTO burnafter_reveal_v6.ciphertext, burnafter_reveal_v6.wrapped_key;
        ELSE
            UPDATE secrets AS s SET views_left = s.views_left - 1
            WHERE s.id = burnafter_reveal_v6.secret_id
            RETURNING s.ciphertext, s.wrapped_key
            INTO burnafter_reveal_v6.ciphertext, burnafter_reveal_v6.wrapped_key;
        END IF;
        UPDATE receipts AS r
        SET views = r.views + 1,
            state = CASE WHEN last THEN 'spent' ELSE r.state END,
            ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
        WHERE r.id = burnafter_reveal_v6.secret_id;
        INSERT INTO access_events (secret_id, event, client_address, user_agent)
        VALUES (burnafter_reveal_v6.secret_id, 'viewed',
                burnafter_reveal_v6.client_address, burnafter_reveal_v6.user_agent);
        IF content IS NOT NULL THEN
            -- Locked before the grant is made, so that reveals of several links of
            -- one content take turns rather than deadlock over their grants' keys.
            SELECT c.segment_size, c.segment_count, c.sealed_bytes
            INTO burnafter_reveal_v6.segment_size, burnafter_reveal_v6.segment_count,
                 burnafter_reveal_v6.sealed_bytes
            FROM contents AS c WHERE c.id = content
            FOR UPDATE;
            SELECT g.data INTO first_segment
            FROM segments AS g WHERE g.content_id = content AND g.index = 0;
            IF burnafter_reveal_v6.segment_count > 1 THEN
                INSERT INTO download_grants AS g (verifier, content_id, expires_at, link_id)
                VALUES (grant_verifier, content,
                        now() + make_interval(secs => grant_expires_in),
                        burnafter_reveal_v6.secret_id)
                RETURNING g.expires_at INTO grant_expires_at;
            END IF;
            IF last THEN
                PERFORM burnafter_release_content_v1(content);
            END IF;
        END IF;
        outcome := 'revealed';
        views_left := views - 1;
        RETURN;
    END IF;

    attempts_left := attempts - 1;
    last := attempts_left = 0;
    IF last THEN
        DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v6.secret_id;
    ELSE
        UPDATE secrets AS s SET attempts_left = s.attempts_left - 1
        WHERE s.id = burnafter_reveal_v6.secret_id;
    END IF;
    UPDATE receipts AS r
    SET failed_attempts = r.failed_attempts + 1,
        state = CASE WHEN last THEN 'burned' ELSE r.state END,
        ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
    WHERE r.id = burnafter_reveal_v6.secret_id;
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    SELECT burnafter_reveal_v6.secret_id, event,
           burnafter_reveal_v6.client_address, burnafter_reveal_v6.user_agent
    FROM unnest(CASE WHEN last THEN ARRAY['wrong_passphrase', 'burned']
                     ELSE ARRAY['wrong_passphrase'] END) AS event;
    IF last AND content IS NOT NULL THEN
        PERFORM burnafter_release_content_v1(content);
    END IF;
    outcome := 'wrong_passphrase';
END
$$;

-- A reveal that makes a download grant names the grant's link in the same
-- statement (migration 0013); burnafter_reveal_v4 stays for the previous release.
CREATE FUNCTION burnafter_reveal_v5(
    secret_id text,
    claim_verifier bytea,
    unlock_verifier bytea,
    client_address text,
    user_agent text,
    action text,  -- 'reveal' or 'delete'
    grant_verifier bytea,  -- SHA-256 of a download grant's token
    grant_expires_in double precision,  -- NULL: the caller answers v1 links only
    OUT outcome text,
    OUT ciphertext bytea,  -- a v1 link's
    OUT views_left integer,
    OUT attempts_left integer,
    OUT recipient_may_delete boolean,
    OUT wrapped_key bytea,  -- a v2 link's, and its content's:
    OUT segment_size integer,
    OUT segment_count integer,
    OUT sealed_bytes bigint,
    OUT first_segment bytea,
    OUT grant_expires_at timestamptz  -- when segment_count > 1
)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT r.outcome, r.ciphertext, r.views_left, r.attempts_left, r.recipient_may_delete,
           r.wrapped_key, r.segment_size, r.segment_count, r.sealed_bytes, r.first_segment,
           r.grant_expires_at
    INTO outcome, ciphertext, views_left, attempts_left, recipient_may_delete, wrapped_key,
         segment_size, segment_count, sealed_bytes, first_segment, grant_expires_at
    FROM burnafter_reveal_v4(
        burnafter_reveal_v5.secret_id, burnafter_reveal_v5.claim_verifier,
        burnafter_reveal_v5.unlock_verifier, burnafter_reveal_v5.client_address,
        burnafter_reveal_v5.user_agent, burnafter_reveal_v5.action,
        burnafter_reveal_v5.grant_verifier, burnafter_reveal_v5.grant_expires_in) AS r;
    IF grant_expires_at IS NOT NULL THEN
        UPDATE download_grants AS g SET link_id = burnafter_reveal_v5.secret_id
        WHERE g.verifier = burnafter_reveal_v5.grant_verifier;
    END IF;
END
$$;

-- Kept for pods of the release before 0008 during its rolling deploy: they find
-- v1 links only (and may delete any link).
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
LANGUAGE sql AS $$
    SELECT outcome, ciphertext, views_left, attempts_left, recipient_may_delete
    FROM burnafter_reveal_v4(secret_id, claim_verifier, unlock_verifier,
                             client_address, user_agent, action, NULL, NULL)
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

-- Reserve size bytes on 'all' (against storage_cap) and on the sender's quota_key
-- (against quota), or say which limit refused; for the creates of both kinds.
CREATE FUNCTION burnafter_reserve_storage_v1(
    size bigint,
    storage_cap bigint,  -- 0: no cap
    quota_key text,
    quota bigint,        -- 0: no quota per sender
    OUT outcome text,    -- reserved, storage_full or quota_full
    OUT stored_bytes bigint
)
LANGUAGE plpgsql AS $$
BEGIN
    outcome := 'reserved';
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
        SELECT burnafter_reserve_storage_v1.quota_key, size WHERE size <= quota
        ON CONFLICT (scope) DO UPDATE SET bytes = u.bytes + EXCLUDED.bytes
        WHERE u.bytes + EXCLUDED.bytes <= quota;
        IF NOT FOUND THEN
            UPDATE storage_usage AS u SET bytes = u.bytes - size WHERE u.scope = 'all';
            stored_bytes := NULL;
            outcome := 'quota_full';
            RETURN;
        END IF;
    END IF;
END
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
    SELECT r.outcome, r.stored_bytes INTO outcome, stored_bytes
    FROM burnafter_reserve_storage_v1(size, storage_cap, burnafter_create_secret_v2.quota_key,
                                      quota) AS r;
    IF outcome <> 'reserved' THEN
        RETURN;
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

-- Whether a declared content is consistent: every segment but the last holds
-- segment_size bytes of plaintext, the last one 1 to segment_size, each sealed
-- with a 16-byte tag; segment 0 is of its size.
CREATE FUNCTION burnafter_content_declared_v1(
    segment_size integer, segment_count integer, sealed_bytes bigint, first_segment bytea
) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(
        segment_size > 0 AND segment_count > 0
        AND sealed_bytes - (segment_count - 1)::bigint * (segment_size + 16)
            BETWEEN 17 AND segment_size + 16
        AND length(first_segment) = CASE WHEN segment_count = 1 THEN sealed_bytes
                                         ELSE segment_size + 16 END,
        false)
$$;

-- A v2 create in one statement: check the declaration, reserve the content's
-- declared sealed size (burnafter_reserve_storage_v1, as a v1 create does), then
-- store the content with segment 0, the link (a secrets row with the wrapped key
-- and no ciphertext), its receipt and its 'created' event. One segment: live at
-- once. More: 'uploading' until finalize, for upload_expires_in seconds.
CREATE FUNCTION burnafter_create_content_v1(
    secret_id text,
    segment_size integer,
    segment_count integer,
    sealed_bytes bigint,
    first_segment bytea,
    upload_verifier bytea,  -- needed when segment_count > 1
    upload_expires_in double precision,
    wrapped_key bytea,
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
    OUT outcome text,    -- created, bad_declaration, storage_full or quota_full
    OUT expires_at timestamptz,
    OUT upload_expires_at timestamptz,  -- while uploading
    OUT stored_bytes bigint  -- all bytes held after this one, when counted
)
LANGUAGE plpgsql AS $$
DECLARE
    one CONSTANT boolean := burnafter_create_content_v1.segment_count = 1;
BEGIN
    IF NOT burnafter_content_declared_v1(segment_size, segment_count, sealed_bytes,
                                         first_segment)
       OR (NOT one AND length(upload_verifier) IS DISTINCT FROM 32) THEN
        outcome := 'bad_declaration';
        RETURN;
    END IF;
    SELECT r.outcome, r.stored_bytes INTO outcome, stored_bytes
    FROM burnafter_reserve_storage_v1(sealed_bytes, storage_cap,
                                      burnafter_create_content_v1.quota_key, quota) AS r;
    IF outcome <> 'reserved' THEN
        RETURN;
    END IF;

    INSERT INTO contents AS c (id, state, segment_size, segment_count, sealed_bytes, received,
                               upload_verifier, upload_expires_at, quota_key)
    VALUES (secret_id, CASE WHEN one THEN 'live' ELSE 'uploading' END, segment_size,
            segment_count, sealed_bytes, 1, CASE WHEN NOT one THEN upload_verifier END,
            CASE WHEN NOT one THEN now() + make_interval(secs => upload_expires_in) END,
            CASE WHEN quota > 0 THEN burnafter_create_content_v1.quota_key END)
    RETURNING c.upload_expires_at INTO burnafter_create_content_v1.upload_expires_at;
    INSERT INTO segments (content_id, index, data) VALUES (secret_id, 0, first_segment);
    INSERT INTO secrets AS s (id, content_id, wrapped_key, claim_verifier, unlock_verifier,
                              views_left, attempts_left, expires_at, recipient_may_delete)
    VALUES (secret_id, secret_id, wrapped_key, claim_verifier, unlock_verifier, max_views,
            max_attempts, now() + make_interval(secs => expires_in), recipient_may_delete)
    RETURNING s.expires_at INTO burnafter_create_content_v1.expires_at;
    INSERT INTO receipts (id, manage_verifier, label, max_views, max_attempts,
                          passphrase, ciphertext_bytes, expires_at, creator, notify,
                          recipient_may_delete)
    VALUES (secret_id, manage_verifier, label, max_views, max_attempts,
            unlock_verifier IS NOT NULL, sealed_bytes, burnafter_create_content_v1.expires_at,
            creator, notify, recipient_may_delete);
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    VALUES (secret_id, 'created', client_address, user_agent);
    outcome := 'created';
END
$$;

-- Store one uploaded segment. The upload verifier is checked first without a lock,
-- against a stand-in when no uploading content has the id (an unknown id and a
-- wrong token cost the same and get the same not_found), then again under the
-- content's row lock, which serialises the puts of one content. Any index below
-- received + upload_window not stored yet is stored; received is the count of the
-- contiguous prefix (the first missing index, where a resume starts). outcome:
-- stored (received set; also for the same bytes again at an index already stored),
-- conflict (other bytes at a stored index), out_of_order (an index at or past
-- received + upload_window; received says where the upload stands), bad_index,
-- wrong_size, not_found.
CREATE FUNCTION burnafter_put_segment_v2(
    content_id text,
    upload_verifier bytea,
    segment_index integer,
    segment_data bytea,
    upload_window integer,
    OUT outcome text,
    OUT received integer
)
LANGUAGE plpgsql AS $$
DECLARE
    stand_in CONSTANT bytea := decode(repeat('00', 32), 'hex');
    stored   bytea;
    size     integer;
    count    integer;
    sealed   bigint;
    same     boolean;
    reach    integer;
BEGIN
    SELECT c.upload_verifier INTO stored
    FROM contents AS c
    WHERE c.id = burnafter_put_segment_v2.content_id AND c.state = 'uploading'
      AND c.upload_expires_at > now();
    IF burnafter_same_bytes_v2(burnafter_put_segment_v2.upload_verifier,
                               coalesce(stored, stand_in)) IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT c.upload_verifier, c.segment_size, c.segment_count, c.sealed_bytes, c.received
    INTO stored, size, count, sealed, received
    FROM contents AS c
    WHERE c.id = burnafter_put_segment_v2.content_id AND c.state = 'uploading'
      AND c.upload_expires_at > now()
    FOR UPDATE;
    IF NOT FOUND
       OR burnafter_same_bytes_v2(burnafter_put_segment_v2.upload_verifier, stored)
          IS NOT TRUE THEN
        outcome := 'not_found';
        received := NULL;
        RETURN;
    END IF;

    -- Nothing is stored at or past reach: every put checked its index against the
    -- received of its time, and received only grows.
    reach := least(received + greatest(upload_window, 1), count);
    IF segment_index < 0 OR segment_index >= count THEN
        outcome := 'bad_index';
        RETURN;
    ELSIF segment_index >= reach THEN
        outcome := 'out_of_order';
        RETURN;
    ELSIF length(segment_data) <> (CASE WHEN segment_index = count - 1
                                        THEN sealed - (count - 1)::bigint * (size + 16)
                                        ELSE size + 16 END) THEN
        outcome := 'wrong_size';
        RETURN;
    END IF;
    SELECT g.data = segment_data INTO same
    FROM segments AS g
    WHERE g.content_id = burnafter_put_segment_v2.content_id AND g.index = segment_index;
    IF FOUND THEN
        outcome := CASE WHEN same THEN 'stored' ELSE 'conflict' END;
        RETURN;
    END IF;
    INSERT INTO segments (content_id, index, data)
    VALUES (burnafter_put_segment_v2.content_id, segment_index, segment_data);
    IF segment_index = received THEN
        received := coalesce(
            (SELECT i FROM generate_series(received + 1, reach - 1) AS i
             WHERE NOT EXISTS (SELECT 1 FROM segments AS g
                               WHERE g.content_id = burnafter_put_segment_v2.content_id
                                 AND g.index = i)
             ORDER BY i LIMIT 1),
            reach);
        UPDATE contents AS c SET received = burnafter_put_segment_v2.received
        WHERE c.id = burnafter_put_segment_v2.content_id;
    END IF;
    outcome := 'stored';
END
$$;

-- The release before's call: a window of 1, one segment at a time.
CREATE FUNCTION burnafter_put_segment_v1(
    content_id text,
    upload_verifier bytea,
    segment_index integer,
    segment_data bytea,
    OUT outcome text,
    OUT received integer
)
LANGUAGE sql AS $$
    SELECT * FROM burnafter_put_segment_v2($1, $2, $3, $4, 1)
$$;

-- Make an uploaded content live, once every segment is stored: live (also when it
-- was live already, so a retried finalize gets the same answer), incomplete
-- (received says how many are stored), or not_found (unknown id, wrong token,
-- upload expired; checked as burnafter_put_segment_v2 does).
CREATE FUNCTION burnafter_finalize_content_v1(
    content_id text,
    upload_verifier bytea,
    OUT outcome text,
    OUT received integer
)
LANGUAGE plpgsql AS $$
DECLARE
    stand_in CONSTANT bytea := decode(repeat('00', 32), 'hex');
    stored   bytea;
    state    text;
    count    integer;
BEGIN
    SELECT c.upload_verifier INTO stored
    FROM contents AS c
    WHERE c.id = burnafter_finalize_content_v1.content_id
      AND (c.state = 'live' OR c.upload_expires_at > now());
    IF burnafter_same_bytes_v2(burnafter_finalize_content_v1.upload_verifier,
                               coalesce(stored, stand_in)) IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT c.upload_verifier, c.state, c.segment_count, c.received
    INTO stored, state, count, received
    FROM contents AS c
    WHERE c.id = burnafter_finalize_content_v1.content_id
      AND (c.state = 'live' OR c.upload_expires_at > now())
    FOR UPDATE;
    IF NOT FOUND
       OR burnafter_same_bytes_v2(burnafter_finalize_content_v1.upload_verifier, stored)
          IS NOT TRUE THEN
        outcome := 'not_found';
        received := NULL;
        RETURN;
    END IF;
    IF received < count THEN
        outcome := 'incomplete';
        RETURN;
    END IF;
    IF state = 'uploading' THEN
        UPDATE contents AS c SET state = 'live'
        WHERE c.id = burnafter_finalize_content_v1.content_id;
    END IF;
    outcome := 'live';
END
$$;

-- Whether nothing holds a content any more: no link references it and no download
-- grant on it is open. Once true it stays true: only a reveal, which needs a link,
-- makes a grant.
CREATE FUNCTION burnafter_content_unheld_v1(content_id text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (SELECT 1 FROM secrets AS s WHERE s.content_id = $1)
       AND NOT EXISTS (SELECT 1 FROM download_grants AS g
                       WHERE g.content_id = $1 AND g.completed_at IS NULL
                         AND g.expires_at > now())
$$;

-- Delete a content (its segments and grants go by cascade) if nothing holds it,
-- called by every path that ends a hold on it, in that path's transaction, after it
-- ended the hold. The row lock makes two such paths take turns, so the second one
-- sees the first's end (each statement of a function takes a new snapshot): the
-- last to end a hold always deletes.
CREATE FUNCTION burnafter_release_content_v1(content_id text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM contents AS c WHERE c.id = burnafter_release_content_v1.content_id
    FOR UPDATE;
    IF NOT burnafter_content_unheld_v1(burnafter_release_content_v1.content_id) THEN
        RETURN false;
    END IF;
    -- Up to 16 segments go in this transaction. More would make one request wait
    -- seconds (1 GiB is half a million TOAST rows): such a content is marked
    -- released, which nothing can read (no link, no grant reaches it), and the
    -- reaper deletes its segments in short batches.
    DELETE FROM contents AS c
    WHERE c.id = burnafter_release_content_v1.content_id AND c.segment_count <= 16;
    IF NOT FOUND THEN
        UPDATE contents AS c SET state = 'released'
        WHERE c.id = burnafter_release_content_v1.content_id;
    END IF;
    RETURN true;
END
$$;

-- End a download grant (its download is done) and release its content.
CREATE FUNCTION burnafter_complete_grant_v1(grant_verifier bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    content text;
BEGIN
    SELECT g.content_id INTO content
    FROM download_grants AS g
    WHERE g.verifier = grant_verifier AND g.completed_at IS NULL AND g.expires_at > now();
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM 1 FROM contents AS c WHERE c.id = content FOR UPDATE;
    UPDATE download_grants AS g SET completed_at = now()
    WHERE g.verifier = grant_verifier AND g.completed_at IS NULL;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM burnafter_release_content_v1(content);
    RETURN true;
END
$$;

-- Give the bytes of ended secrets and deleted contents back: count storage_usage
-- again from the v1 links' ciphertext and the contents' declared sizes left, under
-- the lock creates take.
CREATE FUNCTION burnafter_recount_storage_v2(OUT stored_bytes bigint)
LANGUAGE plpgsql AS $$
BEGIN
    -- Creates hold this lock to their commit: past it, every secret and content they
    -- made is visible to the statements below (each takes a new snapshot).
    PERFORM 1 FROM storage_usage WHERE scope = 'all' FOR UPDATE;
    DELETE FROM storage_usage WHERE scope <> 'all';
    INSERT INTO storage_usage (scope, bytes)
    SELECT held.quota_key, sum(held.bytes)
    FROM (SELECT quota_key, length(ciphertext)::bigint AS bytes FROM secrets
          WHERE quota_key IS NOT NULL AND ciphertext IS NOT NULL
          UNION ALL
          SELECT quota_key, sealed_bytes FROM contents WHERE quota_key IS NOT NULL) AS held
    GROUP BY held.quota_key;
    UPDATE storage_usage
    SET bytes = (SELECT coalesce(sum(length(ciphertext)), 0) FROM secrets)
              + (SELECT coalesce(sum(sealed_bytes), 0) FROM contents)
    WHERE scope = 'all'
    RETURNING bytes INTO stored_bytes;
END
$$;

-- Kept for pods of the release before 0008 during its rolling deploy.
CREATE FUNCTION burnafter_recount_storage_v1(OUT stored_bytes bigint)
LANGUAGE sql AS $$
    SELECT stored_bytes FROM burnafter_recount_storage_v2()
$$;

-- Every path that records a viewed, burned, revoked, expired or deleted event
-- (reveal, revoke, the reaper) fills the webhook outbox in the same transaction, by
-- this trigger per event row (migration 0016): its WHEN clause keeps every other
-- event, a create's among them, from calling the function at all. The outbox holds
-- the event as it is sent: its v1 webhook name (secret.locked for a burned secret;
-- services/store/vocabulary.py WEBHOOK_EVENTS).
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

CREATE TRIGGER access_events_enqueue_webhooks
AFTER INSERT ON access_events
FOR EACH ROW
WHEN (NEW.event IN ('viewed', 'burned', 'revoked', 'expired', 'deleted'))
EXECUTE FUNCTION burnafter_enqueue_webhook_v2();

-- Make a content's first link (created by burnafter_create_content_v1 in the same
-- transaction) recipient 0 of a share.
CREATE FUNCTION burnafter_open_share_v1(share_id text, recipient_name bytea)
RETURNS boolean
LANGUAGE sql AS $$
    UPDATE receipts AS r
    SET share_id = r.id, recipient = 0, recipient_name = $2
    WHERE r.id = $1 AND r.share_id IS NULL
    RETURNING true
$$;

-- Add recipient number `recipient` to the share of `share_id` (its first link and
-- content made in the same transaction): a link to the same content with its own
-- id, wrapped key, proofs and views; the share's expiry, attempts, label, notify
-- and manage verifier are the first link's. false when no such share is open.
CREATE FUNCTION burnafter_add_recipient_v1(
    share_id text,
    recipient integer,
    recipient_name bytea,
    secret_id text,
    wrapped_key bytea,
    claim_verifier bytea,
    unlock_verifier bytea,
    max_views integer,
    client_address text,
    user_agent text
) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    content text;
    first   receipts%ROWTYPE;
BEGIN
    SELECT s.content_id INTO content FROM secrets AS s
    WHERE s.id = burnafter_add_recipient_v1.share_id AND s.content_id IS NOT NULL;
    SELECT * INTO first FROM receipts AS r
    WHERE r.id = burnafter_add_recipient_v1.share_id
      AND r.share_id = burnafter_add_recipient_v1.share_id;
    IF content IS NULL OR first.id IS NULL THEN
        RETURN false;
    END IF;
    INSERT INTO secrets (id, content_id, wrapped_key, claim_verifier, unlock_verifier,
                         views_left, attempts_left, expires_at, recipient_may_delete)
    VALUES (secret_id, content, wrapped_key, claim_verifier, unlock_verifier, max_views,
            first.max_attempts, first.expires_at, first.recipient_may_delete);
    INSERT INTO receipts (id, share_id, recipient, recipient_name, manage_verifier, label,
                          max_views, max_attempts, passphrase, ciphertext_bytes, expires_at,
                          creator, notify, recipient_may_delete)
    VALUES (secret_id, first.id, recipient, recipient_name, first.manage_verifier,
            first.label, max_views, first.max_attempts, unlock_verifier IS NOT NULL,
            first.ciphertext_bytes, first.expires_at, first.creator, first.notify,
            first.recipient_may_delete);
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    VALUES (secret_id, 'created', client_address, user_agent);
    RETURN true;
END
$$;

-- The receipts rows of share $1: a link's own row when it was made alone, or every
-- row of a share of recipients. (Inlined by the planner: both arms use an index.)
CREATE FUNCTION burnafter_share_receipts_v1(share_id text) RETURNS SETOF receipts
LANGUAGE sql STABLE AS $$
    SELECT * FROM receipts AS r
    WHERE (r.id = $1 AND r.share_id IS NULL) OR r.share_id = $1
$$;

-- Requests (docs/architecture.md, "Requests"): an asker's fill link is answered
-- once, by a v2 content sealed to the asker and stored as a link with the
-- request's id and the asker's proofs. The server holds the fill claim's
-- verifier, the note sealed under the fill link's key, and the answer's verifiers.
CREATE TABLE requests (
    id                     text PRIMARY KEY,
    state                  text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'answered')),
    fill_verifier          bytea NOT NULL,
    note                   bytea,
    files_allowed          boolean NOT NULL,
    max_content_bytes      bigint NOT NULL CHECK (max_content_bytes > 0),
    max_sealed_bytes       bigint NOT NULL CHECK (max_sealed_bytes > 0),  -- the same, sealed
    answer_claim_verifier  bytea NOT NULL,
    answer_unlock_verifier bytea,
    answer_max_views       integer NOT NULL CHECK (answer_max_views > 0),
    answer_expires_in      integer NOT NULL CHECK (answer_expires_in > 0),
    manage_verifier        bytea NOT NULL,
    creator                text,
    notify                 text[] NOT NULL DEFAULT '{}',
    quota_key              text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    expires_at             timestamptz NOT NULL,
    opened_at              timestamptz,
    answered_at            timestamptz,
    -- Telling the asker (migration 0012): when the answer was noticed (its webhooks
    -- queued), and the address to email, erased once sent or given up.
    noticed_at             timestamptz,
    notify_email           text CHECK (length(notify_email) <= 254),
    email_attempts         integer NOT NULL DEFAULT 0,
    email_next_at          timestamptz,
    -- The email's language (migration 0014): a BCP 47 tag of services/i18n's
    -- LANGUAGES, the asker's page's when they asked; none is English. Erased with
    -- the address.
    notify_language        text CHECK (length(notify_language) <= 35
                                       AND notify_language ~ '^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$'),
    CHECK ((state = 'answered') = (answered_at IS NOT NULL))
);
CREATE INDEX requests_expires_at_idx ON requests (expires_at);
CREATE INDEX requests_notice_due_idx ON requests (answered_at)
WHERE state = 'answered' AND (noticed_at IS NULL OR notify_email IS NOT NULL);

-- The responder reads the request: its sealed note and what it allows, for a fill
-- link's claim (checked as a reveal checks one: without a lock, against a stand-in
-- when no request has the id). The first read notes when. outcome: open,
-- answered, expired, not_found.
CREATE FUNCTION burnafter_open_request_v1(
    request_id text,
    fill_verifier bytea,
    OUT outcome text,
    OUT note bytea,
    OUT files_allowed boolean,
    OUT max_content_bytes bigint,
    OUT expires_at timestamptz
)
LANGUAGE plpgsql AS $$
DECLARE
    stand_in CONSTANT bytea := decode(repeat('00', 32), 'hex');
    found    requests%ROWTYPE;
BEGIN
    SELECT * INTO found FROM requests AS r WHERE r.id = burnafter_open_request_v1.request_id;
    IF burnafter_same_bytes_v2(burnafter_open_request_v1.fill_verifier,
                               coalesce(found.fill_verifier, stand_in)) IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF found.state = 'answered' THEN
        outcome := 'answered';
    ELSIF found.expires_at <= now() THEN
        outcome := 'expired';
    ELSE
        UPDATE requests AS r SET opened_at = now()
        WHERE r.id = found.id AND r.opened_at IS NULL;
        outcome := 'open';
        note := found.note;
        files_allowed := found.files_allowed;
        max_content_bytes := found.max_content_bytes;
        expires_at := found.expires_at;
    END IF;
END
$$;

-- Answer a request once: under its row lock, an open request's answer is stored as
-- a v2 content with one link (burnafter_create_content_v1: the content, its segment
-- 0, the storage reserved on the asker's quota, the link with the asker's proofs,
-- its receipt and 'created' event), and the request is marked answered in the same
-- transaction. outcome: created (and create_content's), answered (another answer
-- came first), expired, not_found, too_large.
CREATE FUNCTION burnafter_answer_request_v1(
    request_id text,
    fill_verifier bytea,
    segment_size integer,
    segment_count integer,
    sealed_bytes bigint,
    service_max_sealed_bytes bigint,
    first_segment bytea,
    upload_verifier bytea,
    upload_expires_in double precision,
    wrapped_key bytea,
    max_attempts integer,
    client_address text,
    user_agent text,
    storage_cap bigint,
    quota bigint,
    OUT outcome text,
    OUT expires_at timestamptz,
    OUT upload_expires_at timestamptz,
    OUT stored_bytes bigint
)
LANGUAGE plpgsql AS $$
DECLARE
    stand_in CONSTANT bytea := decode(repeat('00', 32), 'hex');
    stored   bytea;
    asked    requests%ROWTYPE;
BEGIN
    SELECT r.fill_verifier INTO stored FROM requests AS r
    WHERE r.id = burnafter_answer_request_v1.request_id;
    IF burnafter_same_bytes_v2(burnafter_answer_request_v1.fill_verifier,
                               coalesce(stored, stand_in)) IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT * INTO asked FROM requests AS r
    WHERE r.id = burnafter_answer_request_v1.request_id
    FOR UPDATE;
    IF asked.state = 'answered' THEN
        outcome := 'answered';
        RETURN;
    ELSIF asked.expires_at <= now() THEN
        outcome := 'expired';
        RETURN;
    ELSIF sealed_bytes > least(service_max_sealed_bytes, asked.max_sealed_bytes) THEN
        outcome := 'too_large';
        RETURN;
    END IF;
    SELECT c.outcome, c.expires_at, c.upload_expires_at, c.stored_bytes
    INTO outcome, expires_at, upload_expires_at, stored_bytes
    FROM burnafter_create_content_v1(
        asked.id, segment_size, segment_count, sealed_bytes, first_segment,
        upload_verifier, upload_expires_in, wrapped_key, asked.answer_claim_verifier,
        asked.answer_unlock_verifier, asked.answer_max_views, max_attempts,
        asked.answer_expires_in, asked.manage_verifier, NULL, client_address, user_agent,
        asked.creator, asked.notify, storage_cap, asked.quota_key, quota, false) AS c;
    IF outcome = 'created' THEN
        UPDATE requests AS r SET state = 'answered', answered_at = now()
        WHERE r.id = asked.id;
    END IF;
END
$$;

-- Requests past their time and a retention after it go; an answered one's answer
-- lives on as its own link and receipt. Called by the reaper.
CREATE FUNCTION burnafter_reap_requests_v1(retention double precision, batch integer)
RETURNS integer
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM requests
        WHERE id = ANY (ARRAY(
            SELECT r.id FROM requests AS r
            WHERE r.expires_at < now() - make_interval(secs => retention)
            ORDER BY r.expires_at
            LIMIT batch
            FOR UPDATE SKIP LOCKED))
        RETURNING id
    )
    SELECT count(*)::integer FROM gone
$$;

-- Up to batch answers that became collectable (or were even opened already): mark
-- them noticed and queue their request.answered webhooks. Returns how many.
CREATE FUNCTION burnafter_notice_answers_v1(batch integer) RETURNS integer
LANGUAGE sql AS $$
    WITH due AS (
        SELECT q.id FROM requests AS q
        WHERE q.state = 'answered' AND q.noticed_at IS NULL
          AND (EXISTS (SELECT FROM secrets AS s JOIN contents AS c ON c.id = s.content_id
                       WHERE s.id = q.id AND c.state = 'live')
               -- opened already, between two rounds: its content may be gone
               OR EXISTS (SELECT FROM access_events AS e
                          WHERE e.secret_id = q.id AND e.event = 'viewed'))
        ORDER BY q.answered_at
        LIMIT batch
        FOR UPDATE SKIP LOCKED
    ), noticed AS (
        UPDATE requests AS q SET noticed_at = now(), email_next_at = now()
        FROM due WHERE q.id = due.id
        RETURNING q.id
    ), queued AS (
        INSERT INTO webhook_deliveries (secret_id, endpoint, event, sender, occurred_at)
        SELECT n.id, endpoint, 'request.answered', r.creator, now()
        FROM noticed AS n
        JOIN receipts AS r ON r.id = n.id
        CROSS JOIN LATERAL unnest(r.notify) AS endpoint
    )
    SELECT count(*)::integer FROM noticed
$$;
