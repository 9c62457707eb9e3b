-- pitwall's schema on PostgreSQL (SPEC §15): schema.sql table by table, column by column, index
-- by index, under the same names, so the same store code runs on both. Applied by
-- src/store/pg/schema.rs, which keeps the version in pitwall_schema. tests/it/pg_backend.rs fails
-- when this and schema.sql disagree on a table, a column or an index name.
--
-- Translation: INTEGER → BIGINT (flags too: the engine writes 0/1 and compares `= 1`), REAL →
-- DOUBLE PRECISION, BLOB → BYTEA, a rowid primary key the engine never writes → an identity
-- column. Every TEXT column compares byte-wise (COLLATE "C") as SQLite's BINARY does, so lists
-- sort the same whatever the database's locale. Instants are BIGINT milliseconds since the Unix
-- epoch, UTC; lists and metadata are JSON text. Why each column and index exists is said once, in
-- schema.sql.

CREATE TABLE mechanics (
    id                       TEXT COLLATE "C" PRIMARY KEY,
    name                     TEXT COLLATE "C" NOT NULL,
    email                    TEXT COLLATE "C",
    phone                    TEXT COLLATE "C",
    city                     TEXT COLLATE "C",
    state_province           TEXT COLLATE "C",
    country                  TEXT COLLATE "C",
    postal_code              TEXT COLLATE "C",
    years_experience         BIGINT NOT NULL DEFAULT 0 CHECK (years_experience >= 0),
    rating                   DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
    completed_sessions       BIGINT NOT NULL DEFAULT 0 CHECK (completed_sessions >= 0),
    profile_completion_score BIGINT NOT NULL DEFAULT 0
                             CHECK (profile_completion_score BETWEEN 0 AND 100),
    account_status           TEXT COLLATE "C" NOT NULL DEFAULT 'approved'
                             CHECK (account_status IN ('approved', 'pending', 'suspended')),
    currently_on_shift       BIGINT NOT NULL DEFAULT 0 CHECK (currently_on_shift IN (0, 1)),
    is_available             BIGINT NOT NULL DEFAULT 0,  -- legacy mirror, written never read
    last_clock_in            BIGINT,
    certification_type       TEXT COLLATE "C" CHECK (certification_type IN
                                ('red_seal', 'provincial', 'ase', 'cpa_quebec', 'manufacturer', 'other')),
    certification_number     TEXT COLLATE "C",
    certification_authority  TEXT COLLATE "C",
    certification_region     TEXT COLLATE "C",
    certification_expiry     TEXT COLLATE "C",              -- YYYY-MM-DD
    red_seal_certified       BIGINT NOT NULL DEFAULT 0,     -- legacy, read as a fallback
    red_seal_number          TEXT COLLATE "C",
    red_seal_province        TEXT COLLATE "C",
    is_brand_specialist      BIGINT NOT NULL DEFAULT 0,
    brand_specializations    TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    service_keywords         TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    max_active_sessions      BIGINT NOT NULL DEFAULT 1
                             CHECK (max_active_sessions BETWEEN 1 AND 10000),
    notify_via               TEXT COLLATE "C" NOT NULL DEFAULT '["email"]',
    timezone                 TEXT COLLATE "C" NOT NULL DEFAULT 'America/Toronto',
    shifts                   TEXT COLLATE "C" NOT NULL DEFAULT '[]'
);

CREATE INDEX mechanics_on_shift ON mechanics (currently_on_shift) WHERE currently_on_shift = 1;

CREATE TABLE intakes (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    customer_name        TEXT COLLATE "C" NOT NULL,
    customer_email       TEXT COLLATE "C",
    customer_phone       TEXT COLLATE "C",
    location_country     TEXT COLLATE "C" NOT NULL,
    location_province    TEXT COLLATE "C",
    location_city        TEXT COLLATE "C",
    location_postal_code TEXT COLLATE "C" NOT NULL,
    vehicle_year         BIGINT,
    vehicle_make         TEXT COLLATE "C",
    vehicle_model        TEXT COLLATE "C",
    vehicle_vin          TEXT COLLATE "C",
    concern              TEXT COLLATE "C" NOT NULL,
    created_at           BIGINT NOT NULL
);

CREATE TABLE sessions (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    intake_id             TEXT COLLATE "C" NOT NULL REFERENCES intakes (id),
    status                TEXT COLLATE "C" NOT NULL
                          CHECK (status IN ('scheduled', 'pending', 'waiting', 'matched',
                                            'completed', 'cancelled')),
    payment_method        TEXT COLLATE "C" NOT NULL CHECK (payment_method IN ('free', 'credit', 'paid')),
    urgent                BIGINT NOT NULL DEFAULT 0,
    request_type          TEXT COLLATE "C" NOT NULL DEFAULT 'general'
                          CHECK (request_type IN ('general', 'brand_specialist')),
    requested_brands      TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    preferred_mechanic_id TEXT COLLATE "C" REFERENCES mechanics (id),
    waiver_signed         BIGINT NOT NULL DEFAULT 1,
    payment_confirmed     BIGINT NOT NULL DEFAULT 1,
    matched_mechanic_id   TEXT COLLATE "C" REFERENCES mechanics (id),
    metadata              TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    created_at            BIGINT NOT NULL,
    released_at           BIGINT,
    matched_at            BIGINT,
    completed_at          BIGINT,
    cancelled_at          BIGINT,
    escalated_at          BIGINT,
    scheduled_for         BIGINT,
    -- SQLite's implicit rowid, which lists order by (insertion order).
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE INDEX sessions_by_status ON sessions (status, created_at);
CREATE INDEX sessions_by_intake ON sessions (intake_id);
CREATE INDEX sessions_matched_by_mechanic ON sessions (matched_mechanic_id)
    WHERE status = 'matched';
CREATE INDEX sessions_to_escalate ON sessions (released_at)
    WHERE status = 'waiting' AND escalated_at IS NULL;
CREATE INDEX sessions_escalated ON sessions (released_at)
    WHERE status = 'waiting' AND escalated_at IS NOT NULL;
CREATE INDEX sessions_by_preferred ON sessions (preferred_mechanic_id, status)
    WHERE preferred_mechanic_id IS NOT NULL;
CREATE INDEX sessions_scheduled_due ON sessions (scheduled_for) WHERE status = 'scheduled';

CREATE TABLE session_assignments (
    -- Creation order, from the identity sequence (SQLite's rowid): the engine never writes it.
    seq           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id            TEXT COLLATE "C" NOT NULL UNIQUE,
    session_id    TEXT COLLATE "C" NOT NULL REFERENCES sessions (id),
    mechanic_id   TEXT COLLATE "C" REFERENCES mechanics (id),   -- NULL while a broadcast is open
    match_type    TEXT COLLATE "C" NOT NULL CHECK (match_type IN ('targeted', 'broadcast')),
    status        TEXT COLLATE "C" NOT NULL
                  CHECK (status IN ('queued', 'offered', 'accepted', 'declined', 'expired', 'cancelled')),
    priority      TEXT COLLATE "C" NOT NULL CHECK (priority IN ('high', 'normal', 'low')),
    match_score   BIGINT,
    offered_at    BIGINT,
    expires_at    BIGINT,
    active_from   BIGINT,
    accepted_at   BIGINT,
    closed_at     BIGINT,
    closed_reason TEXT COLLATE "C",
    created_at    BIGINT NOT NULL
);

-- Exactly one winner per session, held by the database rather than by code (SPEC §15).
CREATE UNIQUE INDEX assignments_one_accepted ON session_assignments (session_id)
    WHERE status = 'accepted';
CREATE INDEX assignments_by_session ON session_assignments (session_id);
CREATE INDEX assignments_open_by_mechanic ON session_assignments (mechanic_id)
    WHERE status IN ('queued', 'offered') AND mechanic_id IS NOT NULL;
CREATE INDEX assignments_due ON session_assignments (expires_at)
    WHERE status = 'offered' AND expires_at IS NOT NULL;
CREATE INDEX assignments_broadcast_held ON session_assignments (active_from)
    WHERE status = 'queued' AND match_type = 'broadcast';
CREATE INDEX assignments_broadcast_open ON session_assignments (created_at)
    WHERE status = 'offered' AND match_type = 'broadcast';

CREATE TABLE assignment_details (
    assignment_seq BIGINT PRIMARY KEY REFERENCES session_assignments (seq),
    match_reasons  TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    metadata       TEXT COLLATE "C" NOT NULL DEFAULT '{}'
);

-- SPEC §2's assignment whole, for anyone reading the database with SQL. (jsonb spells the
-- metadata in its own canonical form, where SQLite's json_set keeps the stored spelling.)
CREATE VIEW session_assignments_full AS
    SELECT a.id, a.session_id, a.mechanic_id, a.match_type, a.status, a.priority, a.match_score,
           d.match_reasons, a.offered_at, a.expires_at, a.active_from, a.accepted_at,
           CASE WHEN a.status = 'expired' AND a.closed_reason IS NULL THEN a.expires_at
                ELSE a.closed_at END AS closed_at,
           COALESCE(a.closed_reason, CASE WHEN a.status = 'expired' THEN 'timeout' END)
               AS closed_reason,
           (d.metadata::jsonb || jsonb_build_object('match_type', a.match_type))::text
               AS metadata,
           a.created_at
    FROM session_assignments a JOIN assignment_details d ON d.assignment_seq = a.seq;

CREATE TABLE customer_waitlist (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    session_id           TEXT COLLATE "C" REFERENCES sessions (id),
    customer_name        TEXT COLLATE "C" NOT NULL,
    customer_email       TEXT COLLATE "C",
    customer_phone       TEXT COLLATE "C",
    notify_via           TEXT COLLATE "C" NOT NULL DEFAULT '["email"]',
    status               TEXT COLLATE "C" NOT NULL
                         CHECK (status IN ('waiting', 'notified', 'expired', 'cancelled')),
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    notified_at          BIGINT,
    notified_mechanic_id TEXT COLLATE "C" REFERENCES mechanics (id)
);

CREATE INDEX waitlist_waiting ON customer_waitlist (expires_at) WHERE status = 'waiting';
CREATE INDEX waitlist_by_session ON customer_waitlist (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX waitlist_recent ON customer_waitlist (created_at, id);

CREATE TABLE notifications (
    id              TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    kind            TEXT COLLATE "C" NOT NULL
                    CHECK (kind IN ('waitlist_online', 'offer', 'matched', 'escalation')),
    channel         TEXT COLLATE "C" NOT NULL CHECK (channel IN ('email', 'sms', 'push', 'dispatcher')),
    recipient       TEXT COLLATE "C" NOT NULL,
    subject         TEXT COLLATE "C" NOT NULL,
    body            TEXT COLLATE "C" NOT NULL,
    session_id      TEXT COLLATE "C",
    waitlist_id     TEXT COLLATE "C" REFERENCES customer_waitlist (id),
    created_at      BIGINT NOT NULL,
    status          TEXT COLLATE "C" NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'dead', 'skipped')),
    attempts        BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT COLLATE "C",
    sent_at         BIGINT,
    lease_owner     TEXT COLLATE "C",
    lease_until     BIGINT,
    -- SQLite's implicit rowid, which lists order by (insertion order).
    rowid BIGINT GENERATED ALWAYS AS IDENTITY,
    -- After rowid: the columns a database upgraded from version 6 gained, in the same order.
    assignment_id   TEXT COLLATE "C",
    expires_at      BIGINT,
    skip_reason     TEXT COLLATE "C" CHECK (skip_reason IN ('accepted', 'taken', 'declined',
                                                            'expired', 'withdrawn', 'cancelled')),
    CONSTRAINT notifications_skipped_has_reason
        CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);

CREATE INDEX notifications_pending_by_channel ON notifications (channel, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX notifications_by_session ON notifications (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX notifications_by_waitlist ON notifications (waitlist_id)
    WHERE waitlist_id IS NOT NULL;
-- Insertion order (SQLite's rowid is its table's key; here it needs an index of its own): the
-- console's newest messages, and prune's walk of old ones.
CREATE INDEX notifications_by_rowid ON notifications (rowid);

CREATE TABLE settings (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

INSERT INTO settings (key, value) VALUES
    ('enable_smart_matching', 'on'),
    ('smart_matching_rollout_percent', '100'),
    ('escalate_after_seconds', '600'),
    ('waitlist_rule_since', '0');

CREATE TABLE unanswered_offers (
    mechanic_id TEXT COLLATE "C" PRIMARY KEY REFERENCES mechanics (id),
    streak      BIGINT NOT NULL CHECK (streak > 0)
);

-- Append-only audit log of every state change; ids from the identity sequence.
CREATE TABLE events (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at            BIGINT NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    session_id    TEXT COLLATE "C",
    mechanic_id   TEXT COLLATE "C",
    assignment_id TEXT COLLATE "C",
    waitlist_id   TEXT COLLATE "C",
    detail        TEXT COLLATE "C"
);
CREATE INDEX events_by_session ON events (session_id) WHERE session_id IS NOT NULL;

CREATE TABLE api_tokens (
    id           TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    role         TEXT COLLATE "C" NOT NULL CHECK (role IN ('dispatcher', 'mechanic', 'intake')),
    mechanic_id  TEXT COLLATE "C" REFERENCES mechanics (id),
    label        TEXT COLLATE "C",
    sha256       BYTEA NOT NULL UNIQUE CHECK (length(sha256) = 32),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    CHECK ((role = 'mechanic') = (mechanic_id IS NOT NULL))
);

CREATE TABLE api_idempotency (
    token_id       TEXT COLLATE "C" NOT NULL REFERENCES api_tokens (id),
    key            TEXT COLLATE "C" NOT NULL,
    request_sha256 BYTEA NOT NULL,
    status         BIGINT NOT NULL,
    response       TEXT COLLATE "C" NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);

-- An intake token reaches only the sessions it created (SPEC §13).
CREATE TABLE api_session_owners (
    session_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES sessions (id),
    token_id   TEXT COLLATE "C" NOT NULL REFERENCES api_tokens (id)
);

-- Bumped by every change to the roster, so a process can keep the roster in memory and reload it
-- only when it (or another process, on any host) changed it.
CREATE TABLE roster_generation (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO roster_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION roster_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE roster_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

-- Per row, as SQLite's triggers are.
CREATE TRIGGER roster_insert AFTER INSERT ON mechanics
    FOR EACH ROW EXECUTE FUNCTION roster_bump();
CREATE TRIGGER roster_update AFTER UPDATE ON mechanics
    FOR EACH ROW EXECUTE FUNCTION roster_bump();
CREATE TRIGGER roster_delete AFTER DELETE ON mechanics
    FOR EACH ROW EXECUTE FUNCTION roster_bump();

-- The links that open pitwall's pages from a message: only their SHA-256 is kept.
CREATE TABLE page_links (
    sha256        BYTEA PRIMARY KEY NOT NULL CHECK (length(sha256) = 32),
    kind          TEXT COLLATE "C" NOT NULL CHECK (kind IN ('offer', 'status')),
    session_id    TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    assignment_id TEXT COLLATE "C",
    mechanic_id   TEXT COLLATE "C",
    outcome       TEXT COLLATE "C" CHECK (outcome IN ('accepted', 'declined', 'taken', 'expired',
                                                      'at_capacity')),
    created_at    BIGINT NOT NULL,
    CHECK ((kind = 'offer') = (assignment_id IS NOT NULL AND mechanic_id IS NOT NULL))
);

CREATE INDEX page_links_by_session ON page_links (session_id);

-- Which schema version this database holds (SQLite keeps it in PRAGMA user_version).
CREATE TABLE pitwall_schema (
    version BIGINT NOT NULL
);
