-- Version 7 -> 8: the API's trust boundary (SPEC §13). An intake token reaches only the sessions
-- it created: each such session's token, written in the intake's own transaction. Copied from
-- schema.sql, which a test compares against an upgraded file. Never edit this file once a
-- release has shipped it.

CREATE TABLE api_session_owners (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id),
    token_id   TEXT NOT NULL REFERENCES api_tokens (id)
) WITHOUT ROWID;
