-- A reveal that makes a download grant names the grant's link in the same
-- statement. It took a second statement after the reveal's commit: an api that
-- died between the two left a grant its client could not use (it fetches the
-- segments by the link's id), and every such reveal paid a round trip.
-- burnafter_reveal_v4 stays, for the pods of the previous release.
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
