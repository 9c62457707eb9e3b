-- Scheduling for later (SPEC §14): mechanics get a time zone and a weekly shift plan; a session
-- may be booked for a time (`scheduled_for`) and waits as `scheduled` until the tick releases it.
-- A session's status CHECK gains 'scheduled', which SQLite can only do by rebuilding the table:
-- src/store/migrate.rs runs this step with foreign keys off and checks them before committing.
-- Every statement below that creates something is copied from schema.sql, which a test compares
-- against an upgraded file. Never edit this file once a release has shipped it.
-- (Names carry no version number, so this step can be renumbered by renaming the file.)

ALTER TABLE mechanics ADD COLUMN timezone TEXT NOT NULL DEFAULT 'America/Toronto';
ALTER TABLE mechanics ADD COLUMN shifts TEXT NOT NULL DEFAULT '[]';

CREATE TABLE sessions_rebuilt (
    id                  TEXT PRIMARY KEY,
    intake_id           TEXT NOT NULL REFERENCES intakes (id),
    status              TEXT NOT NULL
                        CHECK (status IN ('scheduled', 'pending', 'waiting', 'matched', 'completed',
                                          'cancelled')),
    payment_method      TEXT NOT NULL CHECK (payment_method IN ('free', 'credit', 'paid')),
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

INSERT INTO sessions_rebuilt (rowid, id, intake_id, status, payment_method, urgent, request_type,
        requested_brands, preferred_mechanic_id, waiver_signed, payment_confirmed,
        matched_mechanic_id, metadata, created_at, released_at, matched_at, completed_at,
        cancelled_at, escalated_at)
    SELECT rowid, id, intake_id, status, payment_method, urgent, request_type, requested_brands,
        preferred_mechanic_id, waiver_signed, payment_confirmed, matched_mechanic_id, metadata,
        created_at, released_at, matched_at, completed_at, cancelled_at, escalated_at
    FROM sessions ORDER BY rowid;
DROP TABLE sessions;
ALTER TABLE sessions_rebuilt RENAME TO sessions;

CREATE INDEX sessions_by_status ON sessions (status, created_at);
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
