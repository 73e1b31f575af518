-- Shares of several recipients (issue 16; docs/architecture.md, "Several
-- recipients"). One content, sealed once, and one link per recipient: a secrets row
-- each, with the content key wrapped for it, its own claim, passphrase and views;
-- a receipts row each, for its own state, views and events, all under the one
-- receipt key of the share (the same manage verifier). Ten recipients of a file
-- hold it once: the content goes when its last link has ended and no download
-- grant is open, as for one link (burnafter_release_content_v1).
--
-- share_id is NULL for a receipt of one link made without recipients (its own
-- share, as every receipt before); in a share of recipients every row, the first
-- included, holds the first link's id, which is the share's id and its receipt's.
-- recipient numbers the links from 0; recipient_name is the sender's private name
-- for it, sealed under a key of the receipt key per recipient (docs/protocol.md):
-- the server never reads it.
ALTER TABLE receipts ADD COLUMN share_id text;
ALTER TABLE receipts ADD COLUMN recipient integer;
ALTER TABLE receipts ADD COLUMN recipient_name bytea;
ALTER TABLE receipts ADD CONSTRAINT receipts_recipient_check
    CHECK ((share_id IS NULL) = (recipient IS NULL) AND recipient >= 0);
CREATE INDEX receipts_share_id_idx ON receipts (share_id) WHERE share_id IS NOT NULL;

-- A download grant names the link whose reveal made it: its segments are fetched
-- by that link's id, so a recipient never learns the share's id (which is the
-- first recipient's link id). NULL on grants made before, found by content id.
ALTER TABLE download_grants ADD COLUMN link_id text;

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
