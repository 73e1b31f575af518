-- Requests (issue 17; docs/protocol.md, "Requests"; docs/architecture.md,
-- "Requests"). An asker asks for a secret with a fill link; the responder's answer
-- is a v2 content sealed to the asker, stored as a link whose id is the request's,
-- whose proofs (claim, unlock, manage) the asker registered when asking. A request
-- is answered once: the answer locks its row.
--
-- The server holds the verifier of the fill link's claim, the asker's note sealed
-- under the fill link's key, and the verifiers of the answer's proofs: nothing that
-- opens the note or the answer.
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
    CHECK ((state = 'answered') = (answered_at IS NOT NULL))
);
CREATE INDEX requests_expires_at_idx ON requests (expires_at);

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
