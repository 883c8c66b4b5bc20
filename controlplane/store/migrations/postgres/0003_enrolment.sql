-- nscale schema version 3 (PostgreSQL): agent enrolment.
--
-- * agents: the registry of enrolled agents, replacing the unused table of
--   version 1 (no agent ever wrote it): how each proved where it runs, its
--   current certificate, its last heartbeat and whether it is revoked.
-- * join_tokens: one-time (or N-use) enrolment tokens, stored hashed.
-- Statements end with ';' at the end of a line.

DROP TABLE IF EXISTS agents;

CREATE TABLE agents (
    id             VARCHAR(255) COLLATE "C" PRIMARY KEY,
    node_name      VARCHAR(255) COLLATE "C" NOT NULL,
    method         VARCHAR(32) NOT NULL,
    subject        TEXT NOT NULL,
    agent_version  VARCHAR(64) NOT NULL,
    listeners      TEXT NOT NULL,
    health         TEXT NOT NULL,
    cert_serial    VARCHAR(64) NOT NULL,
    cert_not_after BIGINT NOT NULL,
    enrolled_at    BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    revoked_at     BIGINT,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE INDEX agents_last_seen ON agents (last_seen_at);
CREATE INDEX agents_node ON agents (node_name);

CREATE TABLE join_tokens (
    id           VARCHAR(36) PRIMARY KEY,
    token_sha256 CHAR(64) NOT NULL UNIQUE,
    comment      TEXT NOT NULL,
    max_uses     BIGINT NOT NULL,
    uses         BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
