-- nscale schema version 3 (MySQL 8 / MariaDB 10.6+): agent enrolment.
--
-- * agents: the registry of enrolled agents, replacing the unused table of
--   version 1 (no agent ever wrote it): how each proved where it runs, its
--   current certificate, its last heartbeat and whether it is revoked. The
--   old table is renamed away first and dropped last, so a re-run after a
--   failure part-way (MySQL's DDL is not transactional) keeps the new one.
-- * join_tokens: one-time (or N-use) enrolment tokens, stored hashed.
-- Like 0001, every statement is re-runnable. Statements end with ';' at the
-- end of a line.

SET @nscale_ddl = (SELECT IF(COUNT(*) = 1,
        'RENAME TABLE agents TO agents_v1',
        'DO 0')
    FROM information_schema.columns
    WHERE table_schema = DATABASE() AND table_name = 'agents' AND column_name = 'identity_kind');
PREPARE nscale_stmt FROM @nscale_ddl;
EXECUTE nscale_stmt;
DEALLOCATE PREPARE nscale_stmt;

CREATE TABLE IF NOT EXISTS agents (
    id             VARCHAR(255) NOT NULL PRIMARY KEY,
    node_name      VARCHAR(255) NOT NULL,
    method         VARCHAR(32) NOT NULL,
    subject        TEXT NOT NULL,
    agent_version  VARCHAR(64) NOT NULL,
    listeners      TEXT NOT NULL,
    health         TEXT NOT NULL,
    cert_serial    VARCHAR(64) NOT NULL,
    cert_not_after BIGINT NOT NULL,
    enrolled_at    BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    revoked_at     BIGINT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    KEY agents_last_seen (last_seen_at),
    KEY agents_node (node_name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

DROP TABLE IF EXISTS agents_v1;

CREATE TABLE IF NOT EXISTS join_tokens (
    id           VARCHAR(36) NOT NULL PRIMARY KEY,
    token_sha256 CHAR(64) NOT NULL,
    comment      TEXT NOT NULL,
    max_uses     BIGINT NOT NULL,
    uses         BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE KEY join_tokens_sha256 (token_sha256)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
