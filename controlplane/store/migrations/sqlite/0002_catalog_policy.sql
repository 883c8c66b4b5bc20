-- nscale schema version 2 (SQLite): the catalog and policy engine.
--
-- * row_filters.sql_text: the display text of a grant's row filter.
-- * table_files: a file is unique per table by (table_id, path), which also
--   lists them in path order; the unique key on (table_id, path_sha256)
--   goes (SQLite rebuilds the table to drop it; path_sha256 is kept).
-- * unmasks: UNMASK grants on a column or on a tag pattern.
-- * policies: tag masking and safeguard policies.
-- * the built-in role catalog_admin.
-- Statements end with ';' at the end of a line.

ALTER TABLE row_filters ADD COLUMN sql_text TEXT NOT NULL DEFAULT '';

CREATE TABLE table_files_v2 (
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
    UNIQUE (table_id, path)
) STRICT;

INSERT INTO table_files_v2 SELECT * FROM table_files;

DROP TABLE table_files;

ALTER TABLE table_files_v2 RENAME TO table_files;

CREATE TABLE unmasks (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    table_id     TEXT REFERENCES catalog_tables (id) ON DELETE CASCADE,
    column_name  TEXT NOT NULL,
    tag_pattern  TEXT NOT NULL,
    unmask_key   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (principal_id, unmask_key)
) STRICT;

CREATE INDEX unmasks_table ON unmasks (table_id);

CREATE TABLE policies (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL CHECK (kind IN ('tag_mask', 'safeguard_mask', 'safeguard_filter')),
    tag_pattern       TEXT NOT NULL,
    database_name     TEXT NOT NULL,
    table_name        TEXT NOT NULL,
    mask_function     TEXT NOT NULL,
    mask_args         TEXT NOT NULL,
    unless_unmask_tag TEXT NOT NULL,
    filter_expression TEXT NOT NULL,
    filter_sql        TEXT NOT NULL,
    comment           TEXT NOT NULL,
    version           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

-- The built-in role: manages everything, sees everything. A role of that
-- name created before this migration is kept (and becomes the built-in one).
INSERT INTO principals (id, kind, name, comment, version, created_at, updated_at)
    VALUES ('00000000-0000-7000-8000-000000000001', 'role', 'catalog_admin',
            'built-in: manages and reads everything', 1,
            CAST(unixepoch('subsec') * 1000000 AS INTEGER), CAST(unixepoch('subsec') * 1000000 AS INTEGER))
    ON CONFLICT DO NOTHING;
