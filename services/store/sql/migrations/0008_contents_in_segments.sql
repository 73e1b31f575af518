-- Protocol v2 contents, stored in segments (issue 15; docs/architecture.md,
-- "Contents in segments (protocol v2)").
--
-- A content is sealed once by the sender's client into N segments; each share link
-- (a secrets row) holds the content key wrapped for it. Segment 0 (the content's
-- header, and all of a small content) travels inline in the create and in the
-- reveal; a bigger content uploads segments 1..N-1 after the create, by index, and
-- goes live on finalize; its reveal hands out a short-lived download grant for
-- them. The server stores ciphertext, verifiers and sizes, and decrypts nothing.
--
-- Lock order, extended: secrets row, then receipts row, then contents row. The
-- paths that touch only a content (a segment's upload, finalize, a grant's
-- completion, the reaper's sweep) lock nothing else.
--
-- Versioned functions, for the rolling deploy: burnafter_reveal_v4 adds contents;
-- v3 becomes a wrapper over it (its callers never find a v2 link, so a pod of the
-- release before never spends a view it could not answer).
-- burnafter_recount_storage_v2 counts contents too; v1 becomes a wrapper over it,
-- so a pod of the release before does not give their bytes away. The reservation
-- of storage moves into burnafter_reserve_storage_v1, called by the creates of
-- both kinds (burnafter_create_secret_v2 keeps its signature and behaviour).

-- A receipt notes its content's size, which may now pass 2 GiB.
ALTER TABLE receipts ALTER COLUMN ciphertext_bytes TYPE bigint;

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

CREATE TABLE download_grants (
    verifier     bytea PRIMARY KEY,
    content_id   text NOT NULL REFERENCES contents (id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL,
    completed_at timestamptz
);
CREATE INDEX download_grants_content_id_idx ON download_grants (content_id);

ALTER TABLE secrets ALTER COLUMN ciphertext DROP NOT NULL;
ALTER TABLE secrets ADD COLUMN content_id text REFERENCES contents (id);
ALTER TABLE secrets ADD COLUMN wrapped_key bytea;
ALTER TABLE secrets ADD CONSTRAINT secrets_one_body_check
    CHECK ((ciphertext IS NULL) <> (content_id IS NULL)
           AND (content_id IS NULL) = (wrapped_key IS NULL));
CREATE INDEX secrets_content_id_idx ON secrets (content_id) WHERE content_id IS NOT NULL;

-- Reserve size bytes on 'all' (against storage_cap) and on the sender's quota_key
-- (against quota), or say which limit refused; stored_bytes is the total after it,
-- when counted. The lock on 'all' is held to the caller's commit.
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

CREATE OR REPLACE FUNCTION burnafter_create_secret_v2(
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
-- content's row lock, which serialises the puts of one content. outcome: stored
-- (received set: the next index expected; also for the same bytes again at an
-- index already stored), conflict (other bytes at a stored index), out_of_order
-- (an index past the next one; received says which is expected), bad_index,
-- wrong_size, not_found.
CREATE FUNCTION burnafter_put_segment_v1(
    content_id text,
    upload_verifier bytea,
    segment_index integer,
    segment_data bytea,
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
BEGIN
    SELECT c.upload_verifier INTO stored
    FROM contents AS c
    WHERE c.id = burnafter_put_segment_v1.content_id AND c.state = 'uploading'
      AND c.upload_expires_at > now();
    IF burnafter_same_bytes_v2(burnafter_put_segment_v1.upload_verifier,
                               coalesce(stored, stand_in)) IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT c.upload_verifier, c.segment_size, c.segment_count, c.sealed_bytes, c.received
    INTO stored, size, count, sealed, received
    FROM contents AS c
    WHERE c.id = burnafter_put_segment_v1.content_id AND c.state = 'uploading'
      AND c.upload_expires_at > now()
    FOR UPDATE;
    IF NOT FOUND
       OR burnafter_same_bytes_v2(burnafter_put_segment_v1.upload_verifier, stored)
          IS NOT TRUE THEN
        outcome := 'not_found';
        received := NULL;
        RETURN;
    END IF;

    IF segment_index < 0 OR segment_index >= count THEN
        outcome := 'bad_index';
    ELSIF segment_index > received THEN
        outcome := 'out_of_order';
    ELSIF length(segment_data) <> (CASE WHEN segment_index = count - 1
                                        THEN sealed - (count - 1)::bigint * (size + 16)
                                        ELSE size + 16 END) THEN
        outcome := 'wrong_size';
    ELSIF segment_index < received THEN
        outcome := CASE WHEN (SELECT g.data = segment_data FROM segments AS g
                              WHERE g.content_id = burnafter_put_segment_v1.content_id
                                AND g.index = segment_index)
                        THEN 'stored' ELSE 'conflict' END;
    ELSE
        INSERT INTO segments (content_id, index, data)
        VALUES (burnafter_put_segment_v1.content_id, segment_index, segment_data);
        UPDATE contents AS c SET received = c.received + 1
        WHERE c.id = burnafter_put_segment_v1.content_id
        RETURNING c.received INTO burnafter_put_segment_v1.received;
        outcome := 'stored';
    END IF;
END
$$;

-- Make an uploaded content live, once every segment is stored: live (also when it
-- was live already, so a retried finalize gets the same answer), incomplete
-- (received says how many are stored), or not_found (unknown id, wrong token,
-- upload expired; checked as burnafter_put_segment_v1 does).
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

CREATE OR REPLACE FUNCTION burnafter_reveal_v3(
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

-- Give the bytes of ended secrets and deleted contents back: count storage_usage
-- again from the v1 links' ciphertext and the contents' declared sizes left.
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

CREATE OR REPLACE FUNCTION burnafter_recount_storage_v1(OUT stored_bytes bigint)
LANGUAGE sql AS $$
    SELECT stored_bytes FROM burnafter_recount_storage_v2()
$$;
