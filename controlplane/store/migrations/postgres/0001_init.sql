-- nscale schema version 1 (PostgreSQL). Times are unix microseconds (UTC),
-- ids are UUID strings made in Go, JSON documents are TEXT. Names use the "C"
-- collation so that ordering and uniqueness are byte-wise, as on SQLite and
-- on MySQL with utf8mb4_bin. Every mutable row has version (optimistic
-- concurrency), created_at and updated_at. Statements end with ';' at the end
-- of a line.

CREATE TABLE policy_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

INSERT INTO policy_version (id, version, updated_at) VALUES (1, 0, 0);

CREATE TABLE catalog_databases (
    id         VARCHAR(36) PRIMARY KEY,
    name       VARCHAR(255) COLLATE "C" NOT NULL UNIQUE,
    location   TEXT NOT NULL,
    comment    TEXT NOT NULL,
    properties TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE catalog_tables (
    id              VARCHAR(36) PRIMARY KEY,
    database_id     VARCHAR(36) NOT NULL REFERENCES catalog_databases (id) ON DELETE RESTRICT,
    name            VARCHAR(255) COLLATE "C" NOT NULL,
    location        TEXT NOT NULL,
    format          VARCHAR(32) NOT NULL,
    format_options  TEXT NOT NULL,
    properties      TEXT NOT NULL,
    comment         TEXT NOT NULL,
    files_listed_at BIGINT,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (database_id, name)
);

CREATE TABLE catalog_columns (
    id           VARCHAR(36) PRIMARY KEY,
    table_id     VARCHAR(36) NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    name         VARCHAR(255) COLLATE "C" NOT NULL,
    arrow_type   TEXT NOT NULL,
    position     INTEGER NOT NULL,
    nullable     BOOLEAN NOT NULL,
    comment      TEXT NOT NULL,
    is_partition BOOLEAN NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (table_id, name),
    UNIQUE (table_id, position)
);

CREATE TABLE table_files (
    id               VARCHAR(36) PRIMARY KEY,
    table_id         VARCHAR(36) NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    path             TEXT NOT NULL,
    path_sha256      CHAR(64) NOT NULL,
    size_bytes       BIGINT NOT NULL,
    etag             VARCHAR(255) NOT NULL,
    modified_at      BIGINT NOT NULL,
    partition_values TEXT NOT NULL,
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (table_id, path_sha256)
);

CREATE TABLE principals (
    id         VARCHAR(36) PRIMARY KEY,
    kind       VARCHAR(16) NOT NULL CHECK (kind IN ('user', 'group', 'role')),
    name       VARCHAR(255) COLLATE "C" NOT NULL,
    comment    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (kind, name)
);

CREATE TABLE memberships (
    member_id  VARCHAR(36) NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    parent_id  VARCHAR(36) NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (member_id, parent_id)
);

CREATE INDEX memberships_parent ON memberships (parent_id);

CREATE TABLE principal_attributes (
    principal_id VARCHAR(36) NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    attr_key     VARCHAR(255) COLLATE "C" NOT NULL,
    attr_value   TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (principal_id, attr_key)
);

CREATE TABLE tokens (
    id           VARCHAR(36) PRIMARY KEY,
    principal_id VARCHAR(36) NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    name         VARCHAR(255) COLLATE "C" NOT NULL,
    token_sha256 CHAR(64) NOT NULL UNIQUE,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE INDEX tokens_principal ON tokens (principal_id);

CREATE TABLE row_filters (
    id         VARCHAR(36) PRIMARY KEY,
    table_id   VARCHAR(36) NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    name       VARCHAR(255) COLLATE "C" NOT NULL,
    expression TEXT NOT NULL,
    comment    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (table_id, name)
);

CREATE TABLE grants (
    id             VARCHAR(36) PRIMARY KEY,
    principal_id   VARCHAR(36) NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    privilege      VARCHAR(32) NOT NULL,
    securable_kind VARCHAR(16) NOT NULL CHECK (securable_kind IN ('catalog', 'database', 'table')),
    database_id    VARCHAR(36) REFERENCES catalog_databases (id) ON DELETE CASCADE,
    table_id       VARCHAR(36) REFERENCES catalog_tables (id) ON DELETE CASCADE,
    column_names   TEXT,
    row_filter_id  VARCHAR(36) REFERENCES row_filters (id) ON DELETE RESTRICT,
    grant_option   BOOLEAN NOT NULL,
    granted_by     VARCHAR(255) COLLATE "C" NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE INDEX grants_principal ON grants (principal_id);
CREATE INDEX grants_database ON grants (database_id);
CREATE INDEX grants_table ON grants (table_id);
CREATE INDEX grants_row_filter ON grants (row_filter_id);

CREATE TABLE masks (
    id            VARCHAR(36) PRIMARY KEY,
    table_id      VARCHAR(36) NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    column_name   VARCHAR(255) COLLATE "C" NOT NULL,
    principal_id  VARCHAR(36) REFERENCES principals (id) ON DELETE CASCADE,
    function_name VARCHAR(64) NOT NULL,
    args          TEXT NOT NULL,
    comment       TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE INDEX masks_table ON masks (table_id, column_name);
CREATE INDEX masks_principal ON masks (principal_id);

CREATE TABLE tags (
    id         VARCHAR(36) PRIMARY KEY,
    name       VARCHAR(255) COLLATE "C" NOT NULL UNIQUE,
    comment    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE column_tags (
    table_id    VARCHAR(36) NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    column_name VARCHAR(255) COLLATE "C" NOT NULL,
    tag_id      VARCHAR(36) NOT NULL REFERENCES tags (id) ON DELETE RESTRICT,
    tag_value   VARCHAR(255) COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (table_id, column_name, tag_id)
);

CREATE INDEX column_tags_tag ON column_tags (tag_id);

CREATE TABLE agents (
    id            VARCHAR(255) COLLATE "C" PRIMARY KEY,
    node_name     VARCHAR(255) COLLATE "C" NOT NULL,
    identity_kind VARCHAR(32) NOT NULL,
    identity      TEXT NOT NULL,
    agent_version VARCHAR(64) NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE INDEX agents_last_seen ON agents (last_seen_at);
CREATE INDEX agents_node ON agents (node_name);

CREATE TABLE audit_events (
    id                    VARCHAR(36) PRIMARY KEY,
    occurred_at           BIGINT NOT NULL,
    actor                 VARCHAR(255) COLLATE "C" NOT NULL,
    action                VARCHAR(64) NOT NULL,
    target                TEXT NOT NULL,
    outcome               VARCHAR(16) NOT NULL,
    statement             TEXT NOT NULL,
    detail                TEXT NOT NULL,
    policy_version_before BIGINT NOT NULL,
    policy_version_after  BIGINT NOT NULL,
    request_id            VARCHAR(64) NOT NULL
);

CREATE INDEX audit_events_time ON audit_events (occurred_at, id);
