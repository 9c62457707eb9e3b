-- Version 7 -> 8 on PostgreSQL (migrations/0008_api_trust.sql is SQLite's): an intake token
-- reaches only the sessions it created. Matches schema_pg.sql, which a test compares against a
-- database upgraded from version 6. Never edit this file once a release has shipped it.

CREATE TABLE api_session_owners (
    session_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES sessions (id),
    token_id   TEXT COLLATE "C" NOT NULL REFERENCES api_tokens (id)
);
