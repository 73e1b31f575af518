-- The live secrets: ciphertext and verifiers only. A row is deleted (not flagged)
-- on its last view, on revoke, on lock-out and by the reaper.
CREATE TABLE secrets (
    id              text PRIMARY KEY,
    ciphertext      bytea NOT NULL,
    claim_verifier  bytea NOT NULL,
    unlock_verifier bytea,
    views_left      integer NOT NULL CHECK (views_left > 0),
    attempts_left   integer NOT NULL CHECK (attempts_left > 0),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX secrets_expires_at_idx ON secrets (expires_at);

-- What the sender's receipt link shows; kept for a retention period after the
-- secret ends, then purged by the reaper.
CREATE TABLE receipts (
    id               text PRIMARY KEY,
    manage_verifier  bytea NOT NULL,
    label            bytea,
    state            text NOT NULL DEFAULT 'active'
                     CHECK (state IN ('active', 'viewed', 'expired', 'revoked', 'locked')),
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
                   ('created', 'viewed', 'unlock_failed', 'locked', 'revoked', 'expired')),
    client_address text,
    user_agent     text,
    PRIMARY KEY (secret_id, seq)
);
