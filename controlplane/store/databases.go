package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// Database is a catalog database: a named namespace of tables.
type Database struct {
	ID   string
	Name string
	// Location is the default root of the database's tables, e.g.
	// s3://bucket/warehouse/sales/ (may be empty).
	Location   string
	Comment    string
	Properties map[string]string
	// Version increases with every update; pass the version you read to
	// UpdateDatabase and DeleteDatabase.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

const databaseColumns = "id, name, location, comment, properties, version, created_at, updated_at"

// check validates the caller-set fields and returns the encoded properties.
func (d Database) check() (string, error) {
	if err := checkName("database", d.Name); err != nil {
		return "", err
	}
	if err := checkText("database location", d.Location); err != nil {
		return "", err
	}
	if err := checkText("database comment", d.Comment); err != nil {
		return "", err
	}
	return encodeMap("database properties", d.Properties)
}

type scanner interface{ Scan(dest ...any) error }

func scanDatabase(sc scanner) (Database, error) {
	var d Database
	var props string
	var created, updated int64
	if err := sc.Scan(&d.ID, &d.Name, &d.Location, &d.Comment, &props, &d.Version, &created, &updated); err != nil {
		return Database{}, err
	}
	var err error
	d.Properties, err = decodeMap("database properties", props)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, err
}

// CreateDatabase adds a database (a policy change). Name is required; ID,
// Version and times are set by the store. A taken name is AlreadyExists.
func (tx *Tx) CreateDatabase(ctx context.Context, d Database) (Database, error) {
	props, err := d.check()
	if err != nil {
		return Database{}, err
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Database{}, err
	}
	t := now()
	d.ID, d.Version, d.CreatedAt, d.UpdatedAt = newID(), 1, t, t
	if _, err := tx.q().exec(ctx, "INSERT INTO catalog_databases ("+databaseColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		d.ID, d.Name, d.Location, d.Comment, props, d.Version, micros(t), micros(t)); err != nil {
		return Database{}, tx.s.writeErr(err, "database", d.Name)
	}
	d.Properties, _ = decodeMap("", props)
	return d, nil
}

// UpdateDatabase replaces Location, Comment and Properties of the database
// named d.Name if its version is still d.Version (a policy change). A stale
// version is Conflict, a missing database NotFound.
func (tx *Tx) UpdateDatabase(ctx context.Context, d Database) (Database, error) {
	props, err := d.check()
	if err != nil {
		return Database{}, err
	}
	if d.Version <= 0 {
		return Database{}, apierr.New(apierr.InvalidArgument, "updating database %q needs the version you read", d.Name)
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Database{}, err
	}
	res, err := tx.q().exec(ctx, `UPDATE catalog_databases
		SET location = ?, comment = ?, properties = ?, version = version + 1, updated_at = ?
		WHERE name = ? AND version = ?`,
		d.Location, d.Comment, props, micros(now()), d.Name, d.Version)
	if err := tx.checkVersioned(ctx, res, err, "database", d.Name, d.Version,
		"SELECT version FROM catalog_databases WHERE name = ?", d.Name); err != nil {
		return Database{}, err
	}
	return tx.GetDatabase(ctx, d.Name)
}

// DeleteDatabase removes the named database if its version is still version
// (a policy change). A database that still has tables is FailedPrecondition.
func (tx *Tx) DeleteDatabase(ctx context.Context, name string, version int64) error {
	if version <= 0 {
		return apierr.New(apierr.InvalidArgument, "deleting database %q needs the version you read", name)
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	res, err := tx.q().exec(ctx, "DELETE FROM catalog_databases WHERE name = ? AND version = ?", name, version)
	if classify(err) == errForeignKey {
		return apierr.New(apierr.FailedPrecondition, "database %q still has tables; drop them first", name)
	}
	return tx.checkVersioned(ctx, res, err, "database", name, version,
		"SELECT version FROM catalog_databases WHERE name = ?", name)
}

// checkVersioned finishes an optimistic update or delete: if it touched no
// row, the row is either gone (NotFound) or at another version (Conflict),
// which versionQuery (selecting the row's version) tells apart.
func (tx *Tx) checkVersioned(ctx context.Context, res sql.Result, err error, entity, name string, expected int64,
	versionQuery string, args ...any) error {
	if err != nil {
		return tx.s.writeErr(err, entity, name)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return tx.s.dbErr(err, "count updated rows")
	}
	if n > 0 {
		return nil
	}
	var current int64
	switch err := tx.q().queryRow(ctx, versionQuery, args...).Scan(&current); {
	case errors.Is(err, sql.ErrNoRows):
		return notFound(entity, name)
	case err != nil:
		return tx.s.dbErr(err, "read the version of "+entity)
	}
	return conflict(entity, name, expected, current)
}

// GetDatabase returns the named database or NotFound.
func (tx *Tx) GetDatabase(ctx context.Context, name string) (Database, error) {
	return tx.q().getDatabase(ctx, tx.s, name)
}

// GetDatabase returns the named database or NotFound.
func (s *Store) GetDatabase(ctx context.Context, name string) (Database, error) {
	return s.q().getDatabase(ctx, s, name)
}

func (q querier) getDatabase(ctx context.Context, s *Store, name string) (Database, error) {
	d, err := scanDatabase(q.queryRow(ctx, "SELECT "+databaseColumns+" FROM catalog_databases WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return Database{}, notFound("database", name)
	}
	return d, s.dbErr(err, "read database")
}

// ListDatabases returns one page of databases ordered by name, and the token
// of the next page ("" after the last).
func (s *Store) ListDatabases(ctx context.Context, p Page) ([]Database, string, error) {
	return s.q().listDatabases(ctx, s, p)
}

// ListDatabases is Store.ListDatabases inside the transaction.
func (tx *Tx) ListDatabases(ctx context.Context, p Page) ([]Database, string, error) {
	return tx.q().listDatabases(ctx, tx.s, p)
}

func (q querier) listDatabases(ctx context.Context, s *Store, p Page) ([]Database, string, error) {
	const list = "databases"
	cur, err := p.open(list, 1)
	if err != nil {
		return nil, "", err
	}
	after := cur.after
	query, args := "SELECT "+databaseColumns+" FROM catalog_databases", []any{}
	if after != nil {
		query, args = query+" WHERE name > ?", append(args, after[0])
	}
	rows, err := q.query(ctx, query+" ORDER BY name LIMIT ?", append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list databases")
	}
	defer rows.Close()
	var out []Database
	for rows.Next() {
		d, err := scanDatabase(rows)
		if err != nil {
			return nil, "", s.dbErr(err, "list databases")
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.dbErr(err, "list databases")
	}
	out, next := endPage(cur, out, func(last Database) []string { return []string{last.Name} })
	return out, next, nil
}
