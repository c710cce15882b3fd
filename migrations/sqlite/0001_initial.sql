-- Lectern schema, SQLite flavour. Keep in step with migrations/postgres/0001_initial.sql:
-- the same repository code (sqlx::Any) runs against both, so every column uses a type
-- both drivers decode through Any: INTEGER (64-bit), REAL, TEXT, BLOB.
-- Timestamps are Unix milliseconds (UTC) in *_at_ms columns; JSON is stored as TEXT.

CREATE TABLE topics (
    id            TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 100),
    title         TEXT    NOT NULL CHECK (length(trim(title)) > 0),
    description   TEXT    NOT NULL DEFAULT '',
    position      INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX topics_by_position ON topics (position, id);

CREATE TABLE subtopics (
    id            TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 100),
    topic_id      TEXT    NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL CHECK (length(trim(title)) > 0),
    summary       TEXT    NOT NULL DEFAULT '',
    content       TEXT    NOT NULL DEFAULT '',
    -- JSON arrays: [{id, text}], [string], [{title, concept, problem, solution}]
    objectives    TEXT    NOT NULL DEFAULT '[]',
    key_points    TEXT    NOT NULL DEFAULT '[]',
    examples      TEXT    NOT NULL DEFAULT '[]',
    level         TEXT    NOT NULL DEFAULT 'beginner'
                          CHECK (level IN ('beginner', 'intermediate', 'advanced')),
    position      INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX subtopics_by_topic ON subtopics (topic_id, position, id);

-- A teaching tool bound to a subtopic. plugin_name is deliberately not a foreign key:
-- bundled plugins live on disk, and a binding to a plugin that is not installed is
-- skipped by sessions rather than refused.
CREATE TABLE subtopic_tools (
    subtopic_id    TEXT    NOT NULL REFERENCES subtopics (id) ON DELETE CASCADE,
    plugin_name    TEXT    NOT NULL CHECK (length(plugin_name) BETWEEN 1 AND 100),
    -- sha256 (hex) of the pinned version; NULL follows the plugin's active version.
    version_digest TEXT    NULL CHECK (version_digest IS NULL OR length(version_digest) = 64),
    config         TEXT    NOT NULL DEFAULT '{}',
    enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    position       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subtopic_id, plugin_name)
);
CREATE INDEX subtopic_tools_by_plugin ON subtopic_tools (plugin_name);

CREATE TABLE plugins (
    name          TEXT    PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE plugin_versions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    plugin_name     TEXT    NOT NULL REFERENCES plugins (name) ON DELETE CASCADE,
    version         TEXT    NOT NULL CHECK (length(version) BETWEEN 1 AND 100),
    sha256          TEXT    NOT NULL CHECK (length(sha256) = 64),
    manifest        TEXT    NOT NULL DEFAULT '{}',
    wasm            BLOB    NULL,
    path            TEXT    NULL,
    size_bytes      INTEGER NOT NULL CHECK (size_bytes >= 0),
    status          TEXT    NOT NULL DEFAULT 'inactive'
                            CHECK (status IN ('inactive', 'active', 'rejected')),
    created_at_ms   INTEGER NOT NULL,
    activated_at_ms INTEGER NULL,
    CHECK (wasm IS NOT NULL OR path IS NOT NULL),
    UNIQUE (plugin_name, version)
);
CREATE INDEX plugin_versions_by_plugin ON plugin_versions (plugin_name, id);
CREATE INDEX plugin_versions_by_digest ON plugin_versions (sha256);
-- At most one active version per plugin.
CREATE UNIQUE INDEX plugin_versions_one_active ON plugin_versions (plugin_name)
    WHERE status = 'active';

CREATE TABLE conversations (
    id            TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 100),
    room          TEXT    NOT NULL DEFAULT '',
    learner_id    TEXT    NOT NULL CHECK (length(learner_id) BETWEEN 1 AND 200),
    -- The subtopic being taught now (lessons may switch); kept when content is deleted.
    subtopic_id   TEXT    NULL REFERENCES subtopics (id) ON DELETE SET NULL,
    status        TEXT    NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'ended', 'failed')),
    started_at_ms INTEGER NOT NULL,
    ended_at_ms   INTEGER NULL CHECK (ended_at_ms IS NULL OR ended_at_ms >= started_at_ms)
);
CREATE INDEX conversations_by_started ON conversations (started_at_ms DESC, id DESC);
CREATE INDEX conversations_by_learner ON conversations (learner_id, started_at_ms DESC, id DESC);
CREATE INDEX conversations_by_subtopic ON conversations (subtopic_id, started_at_ms DESC, id DESC);
CREATE INDEX conversations_by_status ON conversations (status, started_at_ms DESC, id DESC);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('learner', 'tutor', 'system')),
    content         TEXT    NOT NULL,
    -- The Realtime conversation item this transcript belongs to, when there is one.
    item_id         TEXT    NULL,
    spoken_at_ms    INTEGER NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
CREATE UNIQUE INDEX messages_by_item ON messages (conversation_id, item_id)
    WHERE item_id IS NOT NULL;

CREATE TABLE tool_invocations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL for calls made outside a lesson (the plugin playground).
    conversation_id TEXT    NULL REFERENCES conversations (id) ON DELETE CASCADE,
    call_id         TEXT    NULL,
    subtopic_id     TEXT    NULL,
    plugin_name     TEXT    NOT NULL CHECK (length(plugin_name) > 0),
    plugin_version  TEXT    NULL,
    version_digest  TEXT    NULL,
    tool_name       TEXT    NOT NULL CHECK (length(tool_name) > 0),
    arguments       TEXT    NOT NULL DEFAULT '{}',
    outcome         TEXT    NOT NULL CHECK (length(outcome) BETWEEN 1 AND 50),
    duration_us     INTEGER NOT NULL CHECK (duration_us >= 0),
    output          TEXT    NULL,
    error           TEXT    NULL,
    -- JSON array of limit names that were hit (deadline, memory, output size ...).
    limits_hit      TEXT    NOT NULL DEFAULT '[]',
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX tool_invocations_by_conversation ON tool_invocations (conversation_id, id);
CREATE INDEX tool_invocations_by_plugin ON tool_invocations (plugin_name, created_at_ms);

CREATE TABLE user_profiles (
    learner_id      TEXT    PRIMARY KEY CHECK (length(learner_id) BETWEEN 1 AND 200),
    display_name    TEXT    NOT NULL DEFAULT '',
    metadata        TEXT    NOT NULL DEFAULT '{}',
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);

CREATE TABLE learner_progress (
    learner_id     TEXT    NOT NULL CHECK (length(learner_id) BETWEEN 1 AND 200),
    subtopic_id    TEXT    NOT NULL REFERENCES subtopics (id) ON DELETE CASCADE,
    objective_id   TEXT    NOT NULL CHECK (length(objective_id) BETWEEN 1 AND 100),
    score          REAL    NOT NULL CHECK (score >= 0 AND score <= 1),
    evidence_count INTEGER NOT NULL CHECK (evidence_count >= 1),
    last_note      TEXT    NOT NULL DEFAULT '',
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (learner_id, subtopic_id, objective_id)
);
CREATE INDEX learner_progress_by_subtopic ON learner_progress (subtopic_id);

CREATE TABLE session_analytics (
    conversation_id  TEXT    PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    learner_id       TEXT    NOT NULL,
    subtopic_id      TEXT    NULL,
    duration_ms      INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    learner_turns    INTEGER NOT NULL DEFAULT 0 CHECK (learner_turns >= 0),
    tutor_turns      INTEGER NOT NULL DEFAULT 0 CHECK (tutor_turns >= 0),
    tool_calls       INTEGER NOT NULL DEFAULT 0 CHECK (tool_calls >= 0),
    interruptions    INTEGER NOT NULL DEFAULT 0 CHECK (interruptions >= 0),
    reconnects       INTEGER NOT NULL DEFAULT 0 CHECK (reconnects >= 0),
    updated_at_ms    INTEGER NOT NULL
);
CREATE INDEX session_analytics_by_learner ON session_analytics (learner_id);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    actor   TEXT    NOT NULL CHECK (length(actor) > 0),
    action  TEXT    NOT NULL CHECK (length(action) > 0),
    target  TEXT    NOT NULL DEFAULT '',
    details TEXT    NOT NULL DEFAULT '{}',
    at_ms   INTEGER NOT NULL
);
CREATE INDEX audit_log_by_target ON audit_log (target, id);
