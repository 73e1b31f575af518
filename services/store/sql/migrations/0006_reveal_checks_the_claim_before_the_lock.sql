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
