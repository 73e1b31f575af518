-- A reveal in one round trip: the whole decision runs inside PostgreSQL, in one
-- statement's transaction, still holding the secret's row lock (SELECT ... FOR
-- UPDATE) from the first read to the commit. Lock order stays secrets row, then
-- receipts row. The api sends SHA-256 of the proofs, never the proofs.

-- Equality of two byte strings that reads every byte whatever they hold: no early
-- exit on the first difference, so the time says nothing about a verifier.
CREATE FUNCTION burnafter_same_bytes(a bytea, b bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT length(a) = length(b)
       AND (SELECT bit_or(get_byte(a, i) # get_byte(b, i))
            FROM generate_series(0, length(a) - 1) AS i) = 0
$$;

-- outcome is one of: revealed (ciphertext and views_left set), not_found (unknown,
-- expired, or wrong claim: indistinguishable), passphrase_required (attempts_left
-- set; nothing spent), wrong_passphrase (attempts_left set; one attempt spent, the
-- last one destroys the secret).
CREATE FUNCTION burnafter_reveal(
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
    WHERE s.id = burnafter_reveal.secret_id AND s.expires_at > now()
    FOR UPDATE;
    IF NOT FOUND OR NOT burnafter_same_bytes(burnafter_reveal.claim_verifier, stored_claim) THEN
        outcome := 'not_found';
        RETURN;
    END IF;

    IF stored_unlock IS NOT NULL AND burnafter_reveal.unlock_verifier IS NULL THEN
        outcome := 'passphrase_required';
        attempts_left := attempts;
        RETURN;
    END IF;

    IF stored_unlock IS NULL
       OR burnafter_same_bytes(burnafter_reveal.unlock_verifier, stored_unlock) THEN
        last := views = 1;
        IF last THEN
            DELETE FROM secrets AS s WHERE s.id = burnafter_reveal.secret_id
            RETURNING s.ciphertext INTO burnafter_reveal.ciphertext;
        ELSE
            UPDATE secrets AS s SET views_left = s.views_left - 1
            WHERE s.id = burnafter_reveal.secret_id
            RETURNING s.ciphertext INTO burnafter_reveal.ciphertext;
        END IF;
        UPDATE receipts AS r
        SET views = r.views + 1,
            state = CASE WHEN last THEN 'viewed' ELSE r.state END,
            ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
        WHERE r.id = burnafter_reveal.secret_id;
        INSERT INTO access_events (secret_id, event, client_address, user_agent)
        VALUES (burnafter_reveal.secret_id, 'viewed',
                burnafter_reveal.client_address, burnafter_reveal.user_agent);
        outcome := 'revealed';
        views_left := views - 1;
        RETURN;
    END IF;

    attempts_left := attempts - 1;
    last := attempts_left = 0;
    IF last THEN
        DELETE FROM secrets AS s WHERE s.id = burnafter_reveal.secret_id;
    ELSE
        UPDATE secrets AS s SET attempts_left = s.attempts_left - 1
        WHERE s.id = burnafter_reveal.secret_id;
    END IF;
    UPDATE receipts AS r
    SET failed_attempts = r.failed_attempts + 1,
        state = CASE WHEN last THEN 'locked' ELSE r.state END,
        ended_at = CASE WHEN last THEN now() ELSE r.ended_at END
    WHERE r.id = burnafter_reveal.secret_id;
    INSERT INTO access_events (secret_id, event, client_address, user_agent)
    SELECT burnafter_reveal.secret_id, event,
           burnafter_reveal.client_address, burnafter_reveal.user_agent
    FROM unnest(CASE WHEN last THEN ARRAY['unlock_failed', 'locked']
                     ELSE ARRAY['unlock_failed'] END) AS event;
    outcome := 'wrong_passphrase';
END
$$;
