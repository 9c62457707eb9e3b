-- Version 4 -> 5: the HTTP API (SPEC §13). Tokens are stored as the SHA-256 of the token,
-- never the token; idempotency records keep a command's first response for 24 h. Every statement
-- below is copied from schema.sql, which a test compares against a file upgraded from version 4.
-- Never edit this file once a release has shipped it.

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('dispatcher', 'mechanic', 'intake')),
    mechanic_id  TEXT REFERENCES mechanics (id),
    label        TEXT,
    sha256       BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    -- A mechanic token acts for exactly one mechanic; the other roles for nobody in particular.
    CHECK ((role = 'mechanic') = (mechanic_id IS NOT NULL))
);

CREATE TABLE api_idempotency (
    token_id       TEXT NOT NULL REFERENCES api_tokens (id),
    key            TEXT NOT NULL,
    request_sha256 BLOB NOT NULL,
    status         INTEGER NOT NULL,
    response       TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (token_id, key)
) WITHOUT ROWID;
-- Pruning after 24 h walks this, not the table.
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
