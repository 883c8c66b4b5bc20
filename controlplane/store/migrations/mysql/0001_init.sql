-- nscale schema version 1 (MySQL 8 / MariaDB 10.6+). Times are unix
-- microseconds (UTC), ids are UUID strings made in Go, JSON documents are TEXT.
-- Tables use utf8mb4 with the utf8mb4_bin collation so that names compare and
-- sort byte-wise, as on SQLite and on PostgreSQL with COLLATE "C". Every
-- mutable row has version (optimistic concurrency), created_at and updated_at.
--
-- MySQL commits every DDL statement on its own, so a migration cannot run in
-- one transaction: each statement here is written to be re-runnable
-- (CREATE TABLE IF NOT EXISTS, indexes and foreign keys inline, an upsert for
-- the seed row), and the migrator records the version only after the last
-- statement succeeded. A migration interrupted half-way is completed by the
-- next start. Statements end with ';' at the end of a line.

CREATE TABLE IF NOT EXISTS policy_version (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

INSERT INTO policy_version (id, version, updated_at) VALUES (1, 0, 0)
    ON DUPLICATE KEY UPDATE id = id;

CREATE TABLE IF NOT EXISTS catalog_databases (
    id         VARCHAR(36) NOT NULL PRIMARY KEY,
    name       VARCHAR(255) NOT NULL,
    location   TEXT NOT NULL,
    comment    TEXT NOT NULL,
    properties TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE KEY catalog_databases_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS catalog_tables (
    id              VARCHAR(36) NOT NULL PRIMARY KEY,
    database_id     VARCHAR(36) NOT NULL,
    name            VARCHAR(255) NOT NULL,
    location        TEXT NOT NULL,
    format          VARCHAR(32) NOT NULL,
    format_options  TEXT NOT NULL,
    properties      TEXT NOT NULL,
    comment         TEXT NOT NULL,
    files_listed_at BIGINT NULL,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE KEY catalog_tables_name (database_id, name),
    CONSTRAINT catalog_tables_database FOREIGN KEY (database_id) REFERENCES catalog_databases (id) ON DELETE RESTRICT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS catalog_columns (
    id           VARCHAR(36) NOT NULL PRIMARY KEY,
    table_id     VARCHAR(36) NOT NULL,
    name         VARCHAR(255) NOT NULL,
    arrow_type   TEXT NOT NULL,
    position     INTEGER NOT NULL,
    nullable     BOOLEAN NOT NULL,
    comment      TEXT NOT NULL,
    is_partition BOOLEAN NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE KEY catalog_columns_name (table_id, name),
    UNIQUE KEY catalog_columns_position (table_id, position),
    CONSTRAINT catalog_columns_table FOREIGN KEY (table_id) REFERENCES catalog_tables (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS table_files (
    id               VARCHAR(36) NOT NULL PRIMARY KEY,
    table_id         VARCHAR(36) NOT NULL,
    path             TEXT NOT NULL,
    path_sha256      CHAR(64) NOT NULL,
    size_bytes       BIGINT NOT NULL,
    etag             VARCHAR(255) NOT NULL,
    modified_at      BIGINT NOT NULL,
    partition_values TEXT NOT NULL,
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE KEY table_files_path (table_id, path_sha256),
    CONSTRAINT table_files_table FOREIGN KEY (table_id) REFERENCES catalog_tables (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS principals (
    id         VARCHAR(36) NOT NULL PRIMARY KEY,
    kind       VARCHAR(16) NOT NULL CHECK (kind IN ('user', 'group', 'role')),
    name       VARCHAR(255) NOT NULL,
    comment    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE KEY principals_name (kind, name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS memberships (
    member_id  VARCHAR(36) NOT NULL,
    parent_id  VARCHAR(36) NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (member_id, parent_id),
    KEY memberships_parent (parent_id),
    CONSTRAINT memberships_member FOREIGN KEY (member_id) REFERENCES principals (id) ON DELETE CASCADE,
    CONSTRAINT memberships_parent FOREIGN KEY (parent_id) REFERENCES principals (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS principal_attributes (
    principal_id VARCHAR(36) NOT NULL,
    attr_key     VARCHAR(255) NOT NULL,
    attr_value   TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (principal_id, attr_key),
    CONSTRAINT principal_attributes_principal FOREIGN KEY (principal_id) REFERENCES principals (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS tokens (
    id           VARCHAR(36) NOT NULL PRIMARY KEY,
    principal_id VARCHAR(36) NOT NULL,
    name         VARCHAR(255) NOT NULL,
    token_sha256 CHAR(64) NOT NULL,
    expires_at   BIGINT NULL,
    revoked_at   BIGINT NULL,
    last_used_at BIGINT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE KEY tokens_hash (token_sha256),
    KEY tokens_principal (principal_id),
    CONSTRAINT tokens_principal FOREIGN KEY (principal_id) REFERENCES principals (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS row_filters (
    id         VARCHAR(36) NOT NULL PRIMARY KEY,
    table_id   VARCHAR(36) NOT NULL,
    name       VARCHAR(255) NOT NULL,
    expression TEXT NOT NULL,
    comment    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE KEY row_filters_name (table_id, name),
    CONSTRAINT row_filters_table FOREIGN KEY (table_id) REFERENCES catalog_tables (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS grants (
    id             VARCHAR(36) NOT NULL PRIMARY KEY,
    principal_id   VARCHAR(36) NOT NULL,
    privilege      VARCHAR(32) NOT NULL,
    securable_kind VARCHAR(16) NOT NULL CHECK (securable_kind IN ('catalog', 'database', 'table')),
    database_id    VARCHAR(36) NULL,
    table_id       VARCHAR(36) NULL,
    column_names   TEXT NULL,
    row_filter_id  VARCHAR(36) NULL,
    grant_option   BOOLEAN NOT NULL,
    granted_by     VARCHAR(255) NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    KEY grants_principal (principal_id),
    KEY grants_database (database_id),
    KEY grants_table (table_id),
    KEY grants_row_filter (row_filter_id),
    CONSTRAINT grants_principal FOREIGN KEY (principal_id) REFERENCES principals (id) ON DELETE CASCADE,
    CONSTRAINT grants_database FOREIGN KEY (database_id) REFERENCES catalog_databases (id) ON DELETE CASCADE,
    CONSTRAINT grants_table FOREIGN KEY (table_id) REFERENCES catalog_tables (id) ON DELETE CASCADE,
    CONSTRAINT grants_row_filter FOREIGN KEY (row_filter_id) REFERENCES row_filters (id) ON DELETE RESTRICT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS masks (
    id            VARCHAR(36) NOT NULL PRIMARY KEY,
    table_id      VARCHAR(36) NOT NULL,
    column_name   VARCHAR(255) NOT NULL,
    principal_id  VARCHAR(36) NULL,
    function_name VARCHAR(64) NOT NULL,
    args          TEXT NOT NULL,
    comment       TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    KEY masks_table (table_id, column_name),
    KEY masks_principal (principal_id),
    CONSTRAINT masks_table FOREIGN KEY (table_id) REFERENCES catalog_tables (id) ON DELETE CASCADE,
    CONSTRAINT masks_principal FOREIGN KEY (principal_id) REFERENCES principals (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS tags (
    id         VARCHAR(36) NOT NULL PRIMARY KEY,
    name       VARCHAR(255) NOT NULL,
    comment    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE KEY tags_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS column_tags (
    table_id    VARCHAR(36) NOT NULL,
    column_name VARCHAR(255) NOT NULL,
    tag_id      VARCHAR(36) NOT NULL,
    tag_value   VARCHAR(255) NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (table_id, column_name, tag_id),
    KEY column_tags_tag (tag_id),
    CONSTRAINT column_tags_table FOREIGN KEY (table_id) REFERENCES catalog_tables (id) ON DELETE CASCADE,
    CONSTRAINT column_tags_tag FOREIGN KEY (tag_id) REFERENCES tags (id) ON DELETE RESTRICT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS agents (
    id            VARCHAR(255) NOT NULL PRIMARY KEY,
    node_name     VARCHAR(255) NOT NULL,
    identity_kind VARCHAR(32) NOT NULL,
    identity      TEXT NOT NULL,
    agent_version VARCHAR(64) NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    KEY agents_last_seen (last_seen_at),
    KEY agents_node (node_name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS audit_events (
    id                    VARCHAR(36) NOT NULL PRIMARY KEY,
    occurred_at           BIGINT NOT NULL,
    actor                 VARCHAR(255) NOT NULL,
    action                VARCHAR(64) NOT NULL,
    target                TEXT NOT NULL,
    outcome               VARCHAR(16) NOT NULL,
    statement             MEDIUMTEXT NOT NULL,
    detail                MEDIUMTEXT NOT NULL,
    policy_version_before BIGINT NOT NULL,
    policy_version_after  BIGINT NOT NULL,
    request_id            VARCHAR(64) NOT NULL,
    KEY audit_events_time (occurred_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
