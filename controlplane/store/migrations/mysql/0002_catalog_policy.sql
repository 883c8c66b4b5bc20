-- nscale schema version 2 (MySQL 8 / MariaDB 10.6+): the catalog and policy
-- engine.
--
-- * row_filters.sql_text: the display text of a grant's row filter.
-- * table_files: a file is unique per table by (table_id, path), which also
--   lists them in path order; path becomes VARBINARY(2048) (byte order, as on
--   SQLite and PostgreSQL with COLLATE "C", and short enough for an InnoDB
--   key). The unique key on (table_id, path_sha256), named table_files_path,
--   goes once the new one is there (the foreign key on table_id needs one).
-- * unmasks: UNMASK grants on a column or on a tag pattern.
-- * policies: tag masking and safeguard policies.
-- * the built-in role catalog_admin.
--
-- Like 0001, every statement is re-runnable: MySQL 8 has no ADD COLUMN IF NOT
-- EXISTS or CREATE INDEX IF NOT EXISTS, so those run as a prepared statement
-- that is a no-op ('DO 0') when information_schema shows the column or index.
-- Statements end with ';' at the end of a line.

SET @nscale_ddl = (SELECT IF(COUNT(*) = 0,
        'ALTER TABLE row_filters ADD COLUMN sql_text TEXT NOT NULL',
        'DO 0')
    FROM information_schema.columns
    WHERE table_schema = DATABASE() AND table_name = 'row_filters' AND column_name = 'sql_text');

PREPARE nscale_ddl FROM @nscale_ddl;

EXECUTE nscale_ddl;

DEALLOCATE PREPARE nscale_ddl;

ALTER TABLE table_files MODIFY path VARBINARY(2048) NOT NULL;

SET @nscale_ddl = (SELECT IF(COUNT(*) = 0,
        'CREATE UNIQUE INDEX table_files_table_path ON table_files (table_id, path)',
        'DO 0')
    FROM information_schema.statistics
    WHERE table_schema = DATABASE() AND table_name = 'table_files' AND index_name = 'table_files_table_path');

PREPARE nscale_ddl FROM @nscale_ddl;

EXECUTE nscale_ddl;

DEALLOCATE PREPARE nscale_ddl;

SET @nscale_ddl = (SELECT IF(COUNT(*) > 0,
        'ALTER TABLE table_files DROP INDEX table_files_path',
        'DO 0')
    FROM information_schema.statistics
    WHERE table_schema = DATABASE() AND table_name = 'table_files' AND index_name = 'table_files_path');

PREPARE nscale_ddl FROM @nscale_ddl;

EXECUTE nscale_ddl;

DEALLOCATE PREPARE nscale_ddl;

CREATE TABLE IF NOT EXISTS unmasks (
    id           VARCHAR(36) NOT NULL PRIMARY KEY,
    principal_id VARCHAR(36) NOT NULL,
    table_id     VARCHAR(36) NULL,
    column_name  VARCHAR(255) NOT NULL,
    tag_pattern  VARCHAR(255) NOT NULL,
    unmask_key   VARCHAR(300) NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE KEY unmasks_key (principal_id, unmask_key),
    KEY unmasks_table (table_id),
    CONSTRAINT unmasks_principal FOREIGN KEY (principal_id) REFERENCES principals (id) ON DELETE CASCADE,
    CONSTRAINT unmasks_table FOREIGN KEY (table_id) REFERENCES catalog_tables (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS policies (
    id                VARCHAR(36) NOT NULL PRIMARY KEY,
    name              VARCHAR(255) NOT NULL,
    kind              VARCHAR(32) NOT NULL CHECK (kind IN ('tag_mask', 'safeguard_mask', 'safeguard_filter')),
    tag_pattern       VARCHAR(255) NOT NULL,
    database_name     VARCHAR(255) NOT NULL,
    table_name        VARCHAR(255) NOT NULL,
    mask_function     VARCHAR(64) NOT NULL,
    mask_args         TEXT NOT NULL,
    unless_unmask_tag VARCHAR(255) NOT NULL,
    filter_expression TEXT NOT NULL,
    filter_sql        TEXT NOT NULL,
    comment           TEXT NOT NULL,
    version           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE KEY policies_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The built-in role: manages everything, sees everything. A role of that
-- name created before this migration is kept (and becomes the built-in one).
INSERT INTO principals (id, kind, name, comment, version, created_at, updated_at)
    VALUES ('00000000-0000-7000-8000-000000000001', 'role', 'catalog_admin',
            'built-in: manages and reads everything', 1,
            CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED), CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED))
    ON DUPLICATE KEY UPDATE id = id;
