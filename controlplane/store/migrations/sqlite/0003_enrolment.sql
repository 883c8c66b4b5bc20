-- nscale schema version 3 (SQLite): agent enrolment.
--
-- * agents: the registry of enrolled agents, replacing the unused table of
--   version 1 (no agent ever wrote it): how each proved where it runs, its
--   current certificate, its last heartbeat and whether it is revoked.
-- * join_tokens: one-time (or N-use) enrolment tokens, stored hashed.
-- Statements end with ';' at the end of a line.

DROP TABLE agents;

CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    node_name      TEXT NOT NULL,
    method         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    agent_version  TEXT NOT NULL,
    listeners      TEXT NOT NULL,
    health         TEXT NOT NULL,
    cert_serial    TEXT NOT NULL,
    cert_not_after INTEGER NOT NULL,
    enrolled_at    INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    revoked_at     INTEGER,
    version        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX agents_last_seen ON agents (last_seen_at);
CREATE INDEX agents_node ON agents (node_name);

CREATE TABLE join_tokens (
    id           TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    comment      TEXT NOT NULL,
    max_uses     INTEGER NOT NULL,
    uses         INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
