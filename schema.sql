-- pitwall's single schema (SPEC §2). Applied by src/store/migrate.rs, which tracks the version in
-- PRAGMA user_version. Instants are INTEGER milliseconds since the Unix epoch, UTC; lists and
-- metadata are JSON text. Vocabulary CHECKs mirror the enums in src/model.rs.
--
-- On the tables written on every intake, offer, message and tick, a CHECK lists its words in
-- pairs (`x IN ('a', 'b') OR x IN ('c', 'd')`): SQLite tests an IN list longer than two by
-- building a temporary b-tree of it for every row it writes or whose column changes, and
-- compares two in place. An intake wrote about 24 such b-trees, nearly a third of its work;
-- the 10,000-offer tick's status changes, a seventh of it. (The mechanics' and tokens' lists,
-- written rarely, keep their one list.)

CREATE TABLE mechanics (
    id                       TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    email                    TEXT,
    phone                    TEXT,
    city                     TEXT,
    state_province           TEXT,
    country                  TEXT,
    postal_code              TEXT,
    years_experience         INTEGER NOT NULL DEFAULT 0 CHECK (years_experience >= 0),
    rating                   REAL    NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
    completed_sessions       INTEGER NOT NULL DEFAULT 0 CHECK (completed_sessions >= 0),
    profile_completion_score INTEGER NOT NULL DEFAULT 0
                             CHECK (profile_completion_score BETWEEN 0 AND 100),
    account_status           TEXT    NOT NULL DEFAULT 'approved'
                             CHECK (account_status IN ('approved', 'pending', 'suspended')),
    currently_on_shift       INTEGER NOT NULL DEFAULT 0 CHECK (currently_on_shift IN (0, 1)),
    is_available             INTEGER NOT NULL DEFAULT 0,  -- legacy mirror, written never read
    last_clock_in            INTEGER,
    certification_type       TEXT CHECK (certification_type IN
                                ('red_seal', 'provincial', 'ase', 'cpa_quebec', 'manufacturer', 'other')),
    certification_number     TEXT,
    certification_authority  TEXT,
    certification_region     TEXT,
    certification_expiry     TEXT,                          -- YYYY-MM-DD
    red_seal_certified       INTEGER NOT NULL DEFAULT 0,    -- legacy, read as a fallback
    red_seal_number          TEXT,
    red_seal_province        TEXT,
    is_brand_specialist      INTEGER NOT NULL DEFAULT 0,
    brand_specializations    TEXT NOT NULL DEFAULT '[]',
    service_keywords         TEXT NOT NULL DEFAULT '[]',
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    -- Matched sessions he may hold at once (SPEC §5 capacity); at that many he is busy.
    max_active_sessions      INTEGER NOT NULL DEFAULT 1
                             CHECK (max_active_sessions BETWEEN 1 AND 10000),
    -- Channels his offers go to (SPEC §2, §12): a JSON list of sms / email / push.
    notify_via               TEXT NOT NULL DEFAULT '["email"]',
    -- His weekly plan (SPEC §14): an IANA time zone, and a JSON list of
    -- {"day":"mon","start":"08:00","end":"16:00"} in it. When he is expected, not whether he is.
    timezone                 TEXT NOT NULL DEFAULT 'America/Toronto',
    shifts                   TEXT NOT NULL DEFAULT '[]'
);

-- Who is on shift. (The roster is read whole, so eligibility needs no index.)
CREATE INDEX mechanics_on_shift ON mechanics (currently_on_shift) WHERE currently_on_shift = 1;

CREATE TABLE intakes (
    id                   TEXT PRIMARY KEY,
    customer_name        TEXT NOT NULL,
    customer_email       TEXT,
    customer_phone       TEXT,
    location_country     TEXT NOT NULL,
    location_province    TEXT,
    location_city        TEXT,
    location_postal_code TEXT NOT NULL,
    vehicle_year         INTEGER,
    vehicle_make         TEXT,
    vehicle_model        TEXT,
    vehicle_vin          TEXT,
    concern              TEXT NOT NULL,
    created_at           INTEGER NOT NULL
) WITHOUT ROWID;  -- read only by id: one b-tree, not a table plus its primary-key index

CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    intake_id           TEXT NOT NULL REFERENCES intakes (id),
    status              TEXT NOT NULL
                        CHECK (status IN ('scheduled', 'pending')
                               OR status IN ('waiting', 'matched')
                               OR status IN ('completed', 'cancelled')),
    payment_method      TEXT NOT NULL
                        CHECK (payment_method IN ('free', 'credit') OR payment_method IN ('paid')),
    urgent              INTEGER NOT NULL DEFAULT 0,
    request_type        TEXT NOT NULL DEFAULT 'general'
                        CHECK (request_type IN ('general', 'brand_specialist')),
    requested_brands    TEXT NOT NULL DEFAULT '[]',
    preferred_mechanic_id TEXT REFERENCES mechanics (id),
    waiver_signed       INTEGER NOT NULL DEFAULT 1,
    payment_confirmed   INTEGER NOT NULL DEFAULT 1,
    matched_mechanic_id TEXT REFERENCES mechanics (id),
    metadata            TEXT NOT NULL DEFAULT '{}',
    created_at          INTEGER NOT NULL,
    released_at         INTEGER,
    matched_at          INTEGER,
    completed_at        INTEGER,
    cancelled_at        INTEGER,
    -- When a session still waiting long after its release was escalated (SPEC §5); reads show
    -- it as metadata.escalated_at. A column, so escalating writes an integer, not the metadata.
    escalated_at        INTEGER,
    -- When the customer was booked for (SPEC §14); the tick releases it ten minutes before.
    scheduled_for       INTEGER
);

CREATE INDEX sessions_by_status ON sessions (status, created_at);
-- By intake: the foreign-key check when `pitwall prune` removes an intake (without it, a walk of
-- every session for each intake removed).
CREATE INDEX sessions_by_intake ON sessions (intake_id);
-- A mechanic's matched sessions: how busy he is (capacity), read on every accept and offer.
CREATE INDEX sessions_matched_by_mechanic ON sessions (matched_mechanic_id)
    WHERE status = 'matched';
-- Waiting sessions not escalated yet, by release time: the tick's escalation scan.
CREATE INDEX sessions_to_escalate ON sessions (released_at)
    WHERE status = 'waiting' AND escalated_at IS NULL;
-- Escalated sessions still waiting: the console pins them, however many others are live.
CREATE INDEX sessions_escalated ON sessions (released_at)
    WHERE status = 'waiting' AND escalated_at IS NOT NULL;
CREATE INDEX sessions_by_preferred ON sessions (preferred_mechanic_id, status)
    WHERE preferred_mechanic_id IS NOT NULL;
-- Scheduled sessions by their time: the tick's one query for those due for release, and the
-- console's list of bookings. Empty of everything else, so a tick with nothing due reads nothing.
CREATE INDEX sessions_scheduled_due ON sessions (scheduled_for) WHERE status = 'scheduled';

-- An assignment (SPEC §2) is split in two: the state every status change rewrites here, and what
-- the offer was made on (match_reasons, metadata) in assignment_details, written once. A tick
-- that expires 10,000 offers rewrites 10,000 of these rows, so they are kept narrow.
CREATE TABLE session_assignments (
    seq           INTEGER PRIMARY KEY,                      -- creation order; details hang off it
    id            TEXT NOT NULL UNIQUE,
    session_id    TEXT NOT NULL REFERENCES sessions (id),
    mechanic_id   TEXT REFERENCES mechanics (id),          -- NULL while a broadcast is open
    -- The one source of metadata.match_type: assignment_details keeps the rest of the metadata
    -- and store::assignments puts match_type back when it reads an assignment.
    match_type    TEXT NOT NULL CHECK (match_type IN ('targeted', 'broadcast')),
    -- One comparison per word, the tick's two first, rather than pairs: a pair costs a numeric
    -- conversion of the word (the IN operator's NULL test) and two comparisons, and 'expired',
    -- the tick's commonest write, was in the third; `status = 'expired'` settles it in one.
    status        TEXT NOT NULL
                  CHECK (status = 'expired' OR status = 'offered' OR status = 'queued'
                         OR status = 'accepted' OR status = 'declined' OR status = 'cancelled'),
    priority      TEXT NOT NULL CHECK (priority IN ('high', 'normal') OR priority IN ('low')),
    match_score   INTEGER,
    offered_at    INTEGER,
    expires_at    INTEGER,                                  -- targeted offers
    active_from   INTEGER,                                  -- broadcasts
    accepted_at   INTEGER,
    closed_at     INTEGER,
    closed_reason TEXT,
    created_at    INTEGER NOT NULL
);

-- Exactly one winner per session, held by the database rather than by code.
CREATE UNIQUE INDEX assignments_one_accepted ON session_assignments (session_id)
    WHERE status = 'accepted';
-- By session only: offers change status often, and a session has a handful of rows.
CREATE INDEX assignments_by_session ON session_assignments (session_id);
-- A mechanic's open offers (his queue, withdrawal at clock-out): an offer that expires or is
-- declined leaves it, so it holds what is in play, not the history a mechanic builds up. (His
-- accepted sessions still in play are found from sessions_matched_by_mechanic.)
CREATE INDEX assignments_open_by_mechanic ON session_assignments (mechanic_id)
    WHERE status IN ('queued', 'offered') AND mechanic_id IS NOT NULL;
-- Due expiries: live targeted offers by deadline (an open broadcast has no deadline, so opening
-- one writes nothing here).
CREATE INDEX assignments_due ON session_assignments (expires_at)
    WHERE status = 'offered' AND expires_at IS NOT NULL;
-- Held broadcasts by the moment they open (the tick), and open broadcasts (every queue read).
CREATE INDEX assignments_broadcast_held ON session_assignments (active_from)
    WHERE status = 'queued' AND match_type = 'broadcast';
CREATE INDEX assignments_broadcast_open ON session_assignments (created_at)
    WHERE status = 'offered' AND match_type = 'broadcast';

-- What an offer was made on; never updated. Keyed by the assignment's seq, so an intake appends
-- to the end of this table instead of touching a page somewhere in its middle.
CREATE TABLE assignment_details (
    assignment_seq INTEGER PRIMARY KEY REFERENCES session_assignments (seq),
    match_reasons  TEXT NOT NULL DEFAULT '[]',
    metadata       TEXT NOT NULL DEFAULT '{}'               -- all of it but match_type
);

-- SPEC §2's assignment whole, for anyone reading the file with SQL. An offer the tick expired
-- keeps closed_at and closed_reason NULL, so its row keeps its size (overwritten in place, not
-- moved): it closed at its deadline, for 'timeout', and is shown so here and by pitwall.
CREATE VIEW session_assignments_full AS
    SELECT a.id, a.session_id, a.mechanic_id, a.match_type, a.status, a.priority, a.match_score,
           d.match_reasons, a.offered_at, a.expires_at, a.active_from, a.accepted_at,
           CASE WHEN a.status = 'expired' AND a.closed_reason IS NULL THEN a.expires_at
                ELSE a.closed_at END AS closed_at,
           COALESCE(a.closed_reason, CASE WHEN a.status = 'expired' THEN 'timeout' END)
               AS closed_reason,
           json_set(d.metadata, '$.match_type', a.match_type) AS metadata, a.created_at
    FROM session_assignments a JOIN assignment_details d ON d.assignment_seq = a.seq;

CREATE TABLE customer_waitlist (
    id                   TEXT PRIMARY KEY,
    session_id           TEXT REFERENCES sessions (id),
    customer_name        TEXT NOT NULL,
    customer_email       TEXT,
    customer_phone       TEXT,
    notify_via           TEXT NOT NULL DEFAULT '["email"]',
    status               TEXT NOT NULL
                         CHECK (status IN ('waiting', 'notified')
                                OR status IN ('expired', 'cancelled')),
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    notified_at          INTEGER,
    notified_mechanic_id TEXT REFERENCES mechanics (id)
);

CREATE INDEX waitlist_waiting ON customer_waitlist (expires_at) WHERE status = 'waiting';
CREATE INDEX waitlist_by_session ON customer_waitlist (session_id) WHERE session_id IS NOT NULL;
-- The newest entries (the console's list) read from the end, however many years lie behind them.
CREATE INDEX waitlist_recent ON customer_waitlist (created_at, id);

-- Outbox (SPEC §12): every message pitwall owes someone, written in the transaction of the change
-- that causes it; a relay delivers it afterwards, at least once. The id is the idempotency key
-- receivers de-duplicate by (webhook-id, Message-ID). A relay claims a due row by setting
-- lease_until (a conditional UPDATE); until then no other relay may take it, and a relay that
-- died mid-send leaves it to be retried once the lease has passed.
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('waitlist_online', 'offer')
                           OR kind IN ('matched', 'escalation')),
    channel         TEXT NOT NULL
                    CHECK (channel IN ('email', 'sms') OR channel IN ('push', 'dispatcher')),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    session_id      TEXT,
    waitlist_id     TEXT REFERENCES customer_waitlist (id),
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent') OR status IN ('dead', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    -- An offer's message names its offer: a relay that finds the offer no longer live when it
    -- takes the row (taken, expired, withdrawn, declined) skips it instead of sending a message
    -- that is no longer true. expires_at is the offer's deadline, carried in the payload.
    assignment_id   TEXT,
    expires_at      INTEGER,
    skip_reason     TEXT CHECK (skip_reason IN ('accepted', 'taken')
                                OR skip_reason IN ('declined', 'expired')
                                OR skip_reason IN ('withdrawn', 'cancelled')),
    CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);

-- What a relay looks for: a channel's pending rows by when they are due (each channel is claimed
-- on its own, so a backlog on one never holds another's rows). Its first column also tells, in
-- one probe, whether a channel has messages waiting (one without a transport is said once).
CREATE INDEX notifications_pending_by_channel ON notifications (channel, next_attempt_at)
    WHERE status = 'pending';
-- A session's messages: what `pitwall prune` archives and removes with the session. By
-- waitlist entry: the foreign-key check when prune removes an entry.
CREATE INDEX notifications_by_session ON notifications (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX notifications_by_waitlist ON notifications (waitlist_id)
    WHERE waitlist_id IS NOT NULL;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

INSERT INTO settings (key, value) VALUES
    ('enable_smart_matching', 'on'),
    ('smart_matching_rollout_percent', '100'),
    ('escalate_after_seconds', '600'),
    -- Waitlist entries notified from this time on obey SPEC §6's rule (0: always did); a file
    -- upgraded from version 2 holds the time of its upgrade. `pitwall check` reads it.
    ('waitlist_rule_since', '0');

-- Targeted offers a mechanic let expire unanswered in a row (SPEC §5): at three the tick clocks
-- him out. Kept out of the mechanics table so counting never touches the roster (whose every
-- change makes each process reload it). No row: no unanswered offers since his last answer.
CREATE TABLE unanswered_offers (
    mechanic_id TEXT PRIMARY KEY REFERENCES mechanics (id),
    streak      INTEGER NOT NULL CHECK (streak > 0)
) WITHOUT ROWID;

-- Append-only audit log of every state change.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    session_id    TEXT,
    mechanic_id   TEXT,
    assignment_id TEXT,
    waitlist_id   TEXT,
    detail        TEXT
);
-- A session's timeline: what `pitwall prune` archives and removes with the session. The only
-- secondary index: the log is written on every change and otherwise read by id.
CREATE INDEX events_by_session ON events (session_id) WHERE session_id IS NOT NULL;

-- HTTP API tokens (SPEC §13): only the SHA-256 of a token is kept.
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

-- An intake token reaches only the sessions it created (SPEC §13), written in the intake's own
-- transaction.
CREATE TABLE api_session_owners (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id),
    token_id   TEXT NOT NULL REFERENCES api_tokens (id)
) WITHOUT ROWID;

-- Bumped by every change to the roster, so a process can keep the roster in memory and reload it
-- only when it (or another process) changed it.
CREATE TABLE roster_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO roster_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER roster_insert AFTER INSERT ON mechanics
BEGIN UPDATE roster_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER roster_update AFTER UPDATE ON mechanics
BEGIN UPDATE roster_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER roster_delete AFTER DELETE ON mechanics
BEGIN UPDATE roster_generation SET generation = generation + 1 WHERE id = 1; END;

-- The links that open pitwall's pages from a message (one-tap offers, a customer's status):
-- only their SHA-256 is kept.
CREATE TABLE page_links (
    sha256        BLOB PRIMARY KEY NOT NULL CHECK (length(sha256) = 32),
    kind          TEXT NOT NULL CHECK (kind IN ('offer', 'status')),
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    assignment_id TEXT,
    mechanic_id   TEXT,
    -- How the offer was answered through its link; the link shows only this afterwards.
    outcome       TEXT CHECK (outcome IN ('accepted', 'declined')
                              OR outcome IN ('taken', 'expired')
                              OR outcome IN ('at_capacity')),
    created_at    INTEGER NOT NULL,
    -- An offer's link names its offer and its mechanic; a status link names neither.
    CHECK ((kind = 'offer') = (assignment_id IS NOT NULL AND mechanic_id IS NOT NULL))
) WITHOUT ROWID;

CREATE INDEX page_links_by_session ON page_links (session_id);
