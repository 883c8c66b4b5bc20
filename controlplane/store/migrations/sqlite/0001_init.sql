-- nscale schema version 1 (SQLite). Times are unix microseconds (UTC), ids
-- are UUID strings made in Go, JSON documents are TEXT, booleans are 0/1.
-- Every mutable row has version (optimistic concurrency), created_at and
-- updated_at. Statements end with ';' at the end of a line.

CREATE TABLE policy_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

INSERT INTO policy_version (id, version, updated_at) VALUES (1, 0, 0);

CREATE TABLE catalog_databases (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    location   TEXT NOT NULL,
    comment    TEXT NOT NULL,
    properties TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE catalog_tables (
    id              TEXT PRIMARY KEY,
    database_id     TEXT NOT NULL REFERENCES catalog_databases (id) ON DELETE RESTRICT,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    format          TEXT NOT NULL,
    format_options  TEXT NOT NULL,
    properties      TEXT NOT NULL,
    comment         TEXT NOT NULL,
    files_listed_at INTEGER,
    version         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (database_id, name)
) STRICT;

CREATE TABLE catalog_columns (
    id           TEXT PRIMARY KEY,
    table_id     TEXT NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    arrow_type   TEXT NOT NULL,
    position     INTEGER NOT NULL,
    nullable     INTEGER NOT NULL,
    comment      TEXT NOT NULL,
    is_partition INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (table_id, name),
    UNIQUE (table_id, position)
) STRICT;

CREATE TABLE table_files (
    id               TEXT PRIMARY KEY,
    table_id         TEXT NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    path             TEXT NOT NULL,
    path_sha256      TEXT NOT NULL,
    size_bytes       INTEGER NOT NULL,
    etag             TEXT NOT NULL,
    modified_at      INTEGER NOT NULL,
    partition_values TEXT NOT NULL,
    version          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (table_id, path_sha256)
) STRICT;

CREATE TABLE principals (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'group', 'role')),
    name       TEXT NOT NULL,
    comment    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (kind, name)
) STRICT;

CREATE TABLE memberships (
    member_id  TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    parent_id  TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, parent_id)
) STRICT;

CREATE INDEX memberships_parent ON memberships (parent_id);

CREATE TABLE principal_attributes (
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    attr_key     TEXT NOT NULL,
    attr_value   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (principal_id, attr_key)
) STRICT;

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX tokens_principal ON tokens (principal_id);

CREATE TABLE row_filters (
    id         TEXT PRIMARY KEY,
    table_id   TEXT NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    expression TEXT NOT NULL,
    comment    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (table_id, name)
) STRICT;

CREATE TABLE grants (
    id             TEXT PRIMARY KEY,
    principal_id   TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    privilege      TEXT NOT NULL,
    securable_kind TEXT NOT NULL CHECK (securable_kind IN ('catalog', 'database', 'table')),
    database_id    TEXT REFERENCES catalog_databases (id) ON DELETE CASCADE,
    table_id       TEXT REFERENCES catalog_tables (id) ON DELETE CASCADE,
    column_names   TEXT,
    row_filter_id  TEXT REFERENCES row_filters (id) ON DELETE RESTRICT,
    grant_option   INTEGER NOT NULL,
    granted_by     TEXT NOT NULL,
    version        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX grants_principal ON grants (principal_id);
CREATE INDEX grants_database ON grants (database_id);
CREATE INDEX grants_table ON grants (table_id);
CREATE INDEX grants_row_filter ON grants (row_filter_id);

CREATE TABLE masks (
    id            TEXT PRIMARY KEY,
    table_id      TEXT NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    column_name   TEXT NOT NULL,
    principal_id  TEXT REFERENCES principals (id) ON DELETE CASCADE,
    function_name TEXT NOT NULL,
    args          TEXT NOT NULL,
    comment       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX masks_table ON masks (table_id, column_name);
CREATE INDEX masks_principal ON masks (principal_id);

CREATE TABLE tags (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    comment    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE column_tags (
    table_id    TEXT NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    column_name TEXT NOT NULL,
    tag_id      TEXT NOT NULL REFERENCES tags (id) ON DELETE RESTRICT,
    tag_value   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (table_id, column_name, tag_id)
) STRICT;

CREATE INDEX column_tags_tag ON column_tags (tag_id);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    node_name     TEXT NOT NULL,
    identity_kind TEXT NOT NULL,
    identity      TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX agents_last_seen ON agents (last_seen_at);
CREATE INDEX agents_node ON agents (node_name);

CREATE TABLE audit_events (
    id                    TEXT PRIMARY KEY,
    occurred_at           INTEGER NOT NULL,
    actor                 TEXT NOT NULL,
    action                TEXT NOT NULL,
    target                TEXT NOT NULL,
    outcome               TEXT NOT NULL,
    statement             TEXT NOT NULL,
    detail                TEXT NOT NULL,
    policy_version_before INTEGER NOT NULL,
    policy_version_after  INTEGER NOT NULL,
    request_id            TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_time ON audit_events (occurred_at, id);
