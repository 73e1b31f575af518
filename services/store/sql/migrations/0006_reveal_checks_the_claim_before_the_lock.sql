-- Review findings 1 and 2 (docs/security.md, "Review findings").
--
-- 1. burnafter_reveal_v1 took the secret's row lock before it checked the claim, so
--    a wrong claim on a live id wrote (the lock) and waited for a WAL flush, and
--    took measurably longer than an unknown id: a stranger with only an id could
--    learn that the secret exists. burnafter_reveal_v2 checks the claim first,
--    without a lock, against the stored verifier or, when there is no live row, a
--    stand-in of the same length; only a right claim goes on to lock the row and
--    check again (the row may have been revealed, revoked or reaped meanwhile).
-- 2. burnafter_same_bytes_v1 is STRICT and calls an empty pair neither equal nor
--    different (NULL), and v1 refused on `NOT equal`, which NULL never is: a NULL
--    claim verifier revealed the secret. burnafter_same_bytes_v2 answers false for
--    NULL and empty input, and every check refuses unless it is TRUE.
--
-- burnafter_reveal_v1 keeps its name and signature for the pods of the release
-- before this one, and becomes a wrapper over v2, so they get both fixes too.

CREATE FUNCTION burnafter_same_bytes_v2(a bytea, b bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN a IS NULL OR b IS NULL OR length(a) <> length(b) OR length(a) = 0 THEN false
        ELSE (SELECT bit_or(get_byte(a, i) # get_byte(b, i))
              FROM generate_series(0, length(a) - 1) AS i) = 0
    END
$$;

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
LANGUAGE plpgsql AS $$
DECLARE
    -- Compared with when no live row has the id, so that path does the same work.
    stand_in      CONSTANT bytea := decode(repeat('00', 32), 'hex');
    stored_claim  bytea;
    stored_unlock bytea;
    views         integer;
    attempts      integer;
    last          boolean;
BEGIN
    SELECT s.claim_verifier INTO stored_claim
    FROM secrets AS s
    WHERE s.id = burnafter_reveal_v2.secret_id AND s.expires_at > now();
    IF burnafter_same_bytes_v2(burnafter_reveal_v2.claim_verifier,
                               coalesce(stored_claim, stand_in)) IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;

    SELECT s.claim_verifier, s.unlock_verifier, s.views_left, s.attempts_left
    INTO stored_claim, stored_unlock, views, attempts
    FROM secrets AS s
    WHERE s.id = burnafter_reveal_v2.secret_id AND s.expires_at > now()
    FOR UPDATE;
    IF NOT FOUND
       OR burnafter_same_bytes_v2(burnafter_reveal_v2.claim_verifier, stored_claim)
          IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;

    IF stored_unlock IS NOT NULL AND burnafter_reveal_v2.unlock_verifier IS NULL THEN
        outcome := 'passphrase_required';
        attempts_left := attempts;
        RETURN;
    END IF;

    IF stored_unlock IS NULL
       OR burnafter_same_bytes_v2(burnafter_reveal_v2.unlock_verifier, stored_unlock) THEN
        last := views = 1;
        IF last THEN
            DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v2.secret_id
            RETURNING s.ciphertext INTO burnafter_reveal_v2.ciphertext;
        ELSE
            UPDATE secrets AS s SET views_left = s.views_left - 1
            WHERE s.id = burnafter_reveal_v2.secret_id
            RETURNING s.ciphertext INTO burnafter_reveal_v2.ciphertext;
        END IF;
        UPDATE receipts AS r
        SET views = r.views + 1,
            state = CASE WHEN last THEN 'spent' ELSE r.state END,
            ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
        WHERE r.id = burnafter_reveal_v2.secret_id;
        INSERT INTO access_events (secret_id, event, client_address, user_agent)
        VALUES (burnafter_reveal_v2.secret_id, 'viewed',
                burnafter_reveal_v2.client_address, burnafter_reveal_v2.user_agent);
        outcome := 'revealed';
        views_left := views - 1;
        RETURN;
    END IF;

    attempts_left := attempts - 1;
    last := attempts_left = 0;
    IF last THEN
        DELETE FROM secrets AS s WHERE s.id = burnafter_reveal_v2.secret_id;
    ELSE
        UPDATE secrets AS s SET attempts_left = s.attempts_left - 1
        WHERE s.id = burnafter_reveal_v2.secret_id;
    END IF;
    UPDATE receipts AS r
    SET failed_attempts = r.failed_attempts + 1,
        state = CASE WHEN last THEN 'burned' ELSE r.state END,
        ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
    WHERE r.id = burnafter_reveal_v2.secret_id;
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    SELECT burnafter_reveal_v2.secret_id, event,
           burnafter_reveal_v2.client_address, burnafter_reveal_v2.user_agent
    FROM unnest(CASE WHEN last THEN ARRAY['wrong_passphrase', 'burned']
                     ELSE ARRAY['wrong_passphrase'] END) AS event;
    outcome := 'wrong_passphrase';
END
$$;

CREATE OR REPLACE FUNCTION burnafter_reveal_v1(
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

DROP FUNCTION burnafter_same_bytes_v1(bytea, bytea);

-- Review finding 8: the cap on stored ciphertext was checked against an estimate
-- each api process refreshed every few seconds, so parallel creates overshot it,
-- and one sender could fill it alone. The bytes held are now counted in
-- storage_usage: one row for all secrets ('all') and one per sender key (a keyed
-- hash of who sent, kept on the secret's row and gone with it). A create reserves
-- its size on 'all' and then on its sender's row, refused if either would pass its
-- limit, in the statement that inserts the secret; the row lock on 'all' is held
-- to the commit, so no two creates can both take the last free bytes. Ends of
-- secrets do not write here (a reveal stays one short statement): a recount under
-- the same lock gives freed bytes back, run by the reaper each pass and by the api
-- before it refuses.
CREATE TABLE storage_usage (
    scope text PRIMARY KEY,  -- 'all', or a secret's quota_key
    bytes bigint NOT NULL CHECK (bytes >= 0)
);
ALTER TABLE secrets ADD COLUMN quota_key text;
INSERT INTO storage_usage (scope, bytes)
SELECT 'all', coalesce(sum(length(ciphertext)), 0) FROM secrets;

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
LANGUAGE plpgsql AS $$
DECLARE
    size bigint := length(burnafter_create_secret_v1.ciphertext);
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
        SELECT burnafter_create_secret_v1.quota_key, size WHERE size <= quota
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
                              views_left, attempts_left, expires_at, quota_key)
    VALUES (secret_id, ciphertext, claim_verifier, unlock_verifier, max_views,
            max_attempts, now() + make_interval(secs => expires_in),
            CASE WHEN quota > 0 THEN burnafter_create_secret_v1.quota_key END)
    RETURNING s.expires_at INTO burnafter_create_secret_v1.expires_at;
    INSERT INTO receipts (id, manage_verifier, label, max_views, max_attempts,
                          passphrase, ciphertext_bytes, expires_at, creator, notify)
    VALUES (secret_id, manage_verifier, label, max_views, max_attempts,
            unlock_verifier IS NOT NULL, size, burnafter_create_secret_v1.expires_at,
            creator, notify);
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    VALUES (secret_id, 'created', client_address, user_agent);
    outcome := 'created';
END
$$;

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
