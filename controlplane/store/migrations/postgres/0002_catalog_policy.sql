-- nscale schema version 2 (PostgreSQL): the catalog and policy engine.
--
-- * row_filters.sql_text: the display text of a grant's row filter.
-- * table_files: a file is unique per table by (table_id, path), which also
--   lists them in path order (path compares byte-wise: COLLATE "C", as on
--   SQLite and MySQL); the unique key on (table_id, path_sha256) goes.
-- * unmasks: UNMASK grants on a column or on a tag pattern.
-- * policies: tag masking and safeguard policies.
-- * the built-in role catalog_admin.
-- Statements end with ';' at the end of a line.

ALTER TABLE row_filters ADD COLUMN sql_text TEXT NOT NULL DEFAULT '';

ALTER TABLE table_files ALTER COLUMN path TYPE TEXT COLLATE "C";

ALTER TABLE table_files ADD CONSTRAINT table_files_table_path UNIQUE (table_id, path);

ALTER TABLE table_files DROP CONSTRAINT table_files_table_id_path_sha256_key;

CREATE TABLE unmasks (
    id           VARCHAR(36) PRIMARY KEY,
    principal_id VARCHAR(36) NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    table_id     VARCHAR(36) REFERENCES catalog_tables (id) ON DELETE CASCADE,
    column_name  VARCHAR(255) COLLATE "C" NOT NULL,
    tag_pattern  VARCHAR(255) COLLATE "C" NOT NULL,
    unmask_key   VARCHAR(300) COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (principal_id, unmask_key)
);

CREATE INDEX unmasks_table ON unmasks (table_id);

CREATE TABLE policies (
    id                VARCHAR(36) PRIMARY KEY,
    name              VARCHAR(255) COLLATE "C" NOT NULL UNIQUE,
    kind              VARCHAR(32) NOT NULL CHECK (kind IN ('tag_mask', 'safeguard_mask', 'safeguard_filter')),
    tag_pattern       VARCHAR(255) COLLATE "C" NOT NULL,
    database_name     VARCHAR(255) COLLATE "C" NOT NULL,
    table_name        VARCHAR(255) COLLATE "C" NOT NULL,
    mask_function     VARCHAR(64) NOT NULL,
    mask_args         TEXT NOT NULL,
    unless_unmask_tag VARCHAR(255) COLLATE "C" NOT NULL,
    filter_expression TEXT NOT NULL,
    filter_sql        TEXT NOT NULL,
    comment           TEXT NOT NULL,
    version           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- The built-in role: manages everything, sees everything. A role of that
-- name created before this migration is kept (and becomes the built-in one).
INSERT INTO principals (id, kind, name, comment, version, created_at, updated_at)
    VALUES ('00000000-0000-7000-8000-000000000001', 'role', 'catalog_admin',
            'built-in: manages and reads everything', 1,
            (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT)
    ON CONFLICT DO NOTHING;
