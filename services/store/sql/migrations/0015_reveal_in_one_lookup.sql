-- A reveal finds and locks its row in one lookup, comparing verifiers with plain
-- equality (docs/security.md, "Verifiers are compared by equality in SQL"). Version
-- 4 read the row twice (once to check the claim without a lock, once to lock it and
-- check again) and compared with burnafter_same_bytes_v2, a set-returning loop over
-- the bytes: under load those were half of PostgreSQL's time per reveal
-- (docs/performance.md). The one lookup keeps what the first read was for: a row
-- whose claim verifier differs never reaches the lock, so a wrong claim neither
-- takes nor waits for it, and it does what an unknown id does but for reading
-- the row. v6 also names a download grant's link as it makes the grant, the
-- second statement of v5. burnafter_reveal_v5 and v4 stay for the pods of the
-- previous release.
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
