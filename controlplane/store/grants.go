package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// Privilege is what a grant allows.
type Privilege string

// Select allows reading a securable.
const Select Privilege = "SELECT"

func (p Privilege) check() error {
	if p == Select {
		return nil
	}
	return apierr.New(apierr.InvalidArgument, "unknown privilege %q; want SELECT", string(p))
}

// SecurableKind is what a grant is on.
type SecurableKind string

const (
	SecurableCatalog  SecurableKind = "catalog"
	SecurableDatabase SecurableKind = "database"
	SecurableTable    SecurableKind = "table"
)

// Securable names what a grant is on: the whole catalog, a database (by
// Database) or a table (by Database and Table).
type Securable struct {
	Kind     SecurableKind
	Database string
	Table    string
}

func (s Securable) String() string {
	switch s.Kind {
	case SecurableCatalog:
		return "catalog"
	case SecurableDatabase:
		return fmt.Sprintf("database %q", s.Database)
	}
	return fmt.Sprintf("%s %q", s.Kind, s.Database+"."+s.Table)
}

func (s Securable) check() error {
	switch s.Kind {
	case SecurableCatalog:
		if s.Database != "" || s.Table != "" {
			return apierr.New(apierr.InvalidArgument, "a catalog securable names no database or table")
		}
		return nil
	case SecurableDatabase:
		if s.Table != "" {
			return apierr.New(apierr.InvalidArgument, "a database securable names no table")
		}
		return checkName("database", s.Database)
	case SecurableTable:
		if err := checkName("database", s.Database); err != nil {
			return err
		}
		return checkName("table", s.Table)
	}
	return apierr.New(apierr.InvalidArgument, "unknown securable kind %q; want catalog, database or table", string(s.Kind))
}

// securableIDs resolves a checked securable to its database and table ids
// ("" where the securable has none).
func (q querier) securableIDs(ctx context.Context, s *Store, sec Securable) (dbID, tableID string, err error) {
	switch sec.Kind {
	case SecurableDatabase:
		dbID, err = q.databaseID(ctx, s, sec.Database)
	case SecurableTable:
		if dbID, err = q.databaseID(ctx, s, sec.Database); err == nil {
			tableID, err = q.tableID(ctx, s, TableRef{Database: sec.Database, Name: sec.Table})
		}
	}
	return dbID, tableID, err
}

// RowFilter is a grant's row filter.
type RowFilter struct {
	ID string
	// Expression is the canonical JSON of the filter's expression tree;
	// the store keeps it as is.
	Expression string
	// SQL is the filter as the user wrote it, for display.
	SQL string
}

// Grant gives a principal a privilege on a securable, optionally limited
// to some columns and to the rows a filter keeps.
type Grant struct {
	ID        string
	Principal PrincipalRef
	Privilege Privilege
	Securable Securable
	// Columns limits a table grant to these columns; nil is every column.
	// The store keeps them sorted and without duplicates.
	Columns []string
	// Filter limits a table grant to the rows it keeps; nil is every row.
	Filter    *RowFilter
	GrantedBy string
	Version   int64
	CreatedAt time.Time
}

// GrantFilter selects grants to list. Every field set must match: the
// principal's own grants (not those of its groups), and grants on a
// database or on the tables in it (Database) or on one table (Database and
// Table).
type GrantFilter struct {
	Principal *PrincipalRef
	Database  string
	Table     string
}

const grantSelect = `SELECT g.id, p.kind, p.name, g.privilege, g.securable_kind, COALESCE(d.name, ''), COALESCE(t.name, ''),
	g.column_names, g.row_filter_id, f.expression, f.sql_text, g.granted_by, g.version, g.created_at
	FROM grants g
	JOIN principals p ON p.id = g.principal_id
	LEFT JOIN catalog_databases d ON d.id = g.database_id
	LEFT JOIN catalog_tables t ON t.id = g.table_id
	LEFT JOIN row_filters f ON f.id = g.row_filter_id`

func scanGrant(sc scanner) (Grant, error) {
	var g Grant
	var kind, priv, secKind string
	var cols, filterID, expr, sqlText sql.NullString
	var created int64
	if err := sc.Scan(&g.ID, &kind, &g.Principal.Name, &priv, &secKind, &g.Securable.Database, &g.Securable.Table,
		&cols, &filterID, &expr, &sqlText, &g.GrantedBy, &g.Version, &created); err != nil {
		return Grant{}, err
	}
	g.Principal.Kind, g.Privilege, g.Securable.Kind = PrincipalKind(kind), Privilege(priv), SecurableKind(secKind)
	g.CreatedAt = fromMicros(created)
	if cols.Valid {
		if err := json.Unmarshal([]byte(cols.String), &g.Columns); err != nil {
			return Grant{}, apierr.Wrap(apierr.Internal, err, "store: stored grant columns are not a JSON array of strings")
		}
	}
	if filterID.Valid {
		g.Filter = &RowFilter{ID: filterID.String, Expression: expr.String, SQL: sqlText.String}
	}
	return g, nil
}

// canonicalColumns sorts and de-duplicates a column list; empty is nil
// (every column).
func canonicalColumns(cols []string) ([]string, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	out := slices.Clone(cols)
	for _, c := range out {
		if err := checkName("column", c); err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// encodeColumns is the stored form of a canonical column list: a JSON
// array, or NULL for every column.
func encodeColumns(cols []string) (any, error) {
	if cols == nil {
		return nil, nil
	}
	b, err := json.Marshal(cols)
	if err != nil {
		return nil, apierr.Wrap(apierr.InvalidArgument, err, "grant columns cannot be encoded")
	}
	if len(b) > maxTextLen {
		return nil, apierr.New(apierr.InvalidArgument, "grant column list is longer than %d bytes", maxTextLen)
	}
	return string(b), nil
}

func checkExpression(field, expr, sqlText string) error {
	if expr == "" {
		return apierr.New(apierr.InvalidArgument, "%s expression is empty", field)
	}
	if err := checkText(field+" expression", expr); err != nil {
		return err
	}
	if !json.Valid([]byte(expr)) {
		return apierr.New(apierr.InvalidArgument, "%s expression is not valid JSON", field)
	}
	return checkText(field+" SQL", sqlText)
}

// matchGrants is the WHERE clause (and its arguments) matching grants of
// principalID on the securable with exactly the column list cols.
func matchGrants(principalID string, dbID, tableID string, secKind SecurableKind, cols any) (string, []any) {
	conds, args := []string{"g.principal_id = ?", "g.securable_kind = ?"}, []any{principalID, string(secKind)}
	for _, c := range []struct {
		col string
		v   any
	}{{"g.database_id", nullString(dbID)}, {"g.table_id", nullString(tableID)}, {"g.column_names", cols}} {
		if c.v == nil {
			conds = append(conds, c.col+" IS NULL")
		} else {
			conds, args = append(conds, c.col+" = ?"), append(args, c.v)
		}
	}
	return where(conds), args
}

// CreateGrant adds a grant (a policy change), and its row filter when
// Filter is set. Principal, Privilege and Securable are required; Columns
// and Filter only apply to table grants, and named columns must exist. ID,
// Version, CreatedAt and Filter.ID are set by the store. The same grant
// (principal, privilege, securable, columns and filter expression) twice is
// AlreadyExists; a missing principal, database, table or column NotFound.
func (tx *Tx) CreateGrant(ctx context.Context, g Grant) (Grant, error) {
	if err := g.Principal.check(); err != nil {
		return Grant{}, err
	}
	if err := g.Privilege.check(); err != nil {
		return Grant{}, err
	}
	if err := g.Securable.check(); err != nil {
		return Grant{}, err
	}
	cols, err := canonicalColumns(g.Columns)
	if err != nil {
		return Grant{}, err
	}
	if g.Securable.Kind != SecurableTable && (cols != nil || g.Filter != nil) {
		return Grant{}, apierr.New(apierr.InvalidArgument, "columns and row filters apply only to grants on a table, not on the %s", g.Securable.Kind)
	}
	if g.Filter != nil {
		if err := checkExpression("row filter", g.Filter.Expression, g.Filter.SQL); err != nil {
			return Grant{}, err
		}
	}
	if len(g.GrantedBy) > maxNameLen {
		return Grant{}, apierr.New(apierr.InvalidArgument, "grantor is longer than %d bytes", maxNameLen)
	}
	if err := checkText("grantor", g.GrantedBy); err != nil {
		return Grant{}, err
	}
	encCols, err := encodeColumns(cols)
	if err != nil {
		return Grant{}, err
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Grant{}, err
	}
	q := tx.q()
	pid, err := tx.principalID(ctx, g.Principal)
	if err != nil {
		return Grant{}, err
	}
	dbID, tableID, err := q.securableIDs(ctx, tx.s, g.Securable)
	if err != nil {
		return Grant{}, err
	}
	if err := q.checkColumnsExist(ctx, tx.s, tableID, g.Securable.Database+"."+g.Securable.Table, cols); err != nil {
		return Grant{}, err
	}
	// Policy writers are serialised by the bump: this check cannot race.
	w, args := matchGrants(pid, dbID, tableID, g.Securable.Kind, encCols)
	dups, err := queryAll(ctx, q, func(sc scanner) (sql.NullString, error) {
		var e sql.NullString
		return e, sc.Scan(&e)
	}, "SELECT f.expression FROM grants g LEFT JOIN row_filters f ON f.id = g.row_filter_id"+w+" AND g.privilege = ?",
		append(args, string(g.Privilege))...)
	if err != nil {
		return Grant{}, tx.s.dbErr(err, "read grants")
	}
	for _, e := range dups {
		if (g.Filter == nil && !e.Valid) || (g.Filter != nil && e.Valid && e.String == g.Filter.Expression) {
			what := ""
			if g.Filter != nil {
				what = " with the same row filter"
			}
			return Grant{}, apierr.New(apierr.AlreadyExists, "%s %q already has %s on %s%s%s",
				g.Principal.Kind, g.Principal.Name, g.Privilege, g.Securable, columnsPhrase(g.Securable, cols), what)
		}
	}
	at := now()
	g.ID, g.Version, g.CreatedAt, g.Columns = newID(), 1, at, cols
	var filterID any
	if g.Filter != nil {
		f := *g.Filter
		f.ID = newID()
		if _, err := q.exec(ctx, `INSERT INTO row_filters (id, table_id, name, expression, sql_text, comment, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, '', 1, ?, ?)`, f.ID, tableID, "grant:"+g.ID, f.Expression, f.SQL, micros(at), micros(at)); err != nil {
			return Grant{}, tx.s.writeErr(err, "row filter", f.ID)
		}
		g.Filter, filterID = &f, f.ID
	}
	if _, err := q.exec(ctx, `INSERT INTO grants (id, principal_id, privilege, securable_kind, database_id, table_id, column_names,
		row_filter_id, grant_option, granted_by, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, pid, string(g.Privilege), string(g.Securable.Kind), nullString(dbID), nullString(tableID), encCols,
		filterID, false, g.GrantedBy, g.Version, micros(at), micros(at)); err != nil {
		return Grant{}, tx.s.writeErr(err, "grant", g.ID)
	}
	return g, nil
}

// GetGrant returns the grant or NotFound.
func (s *Store) GetGrant(ctx context.Context, id string) (Grant, error) {
	return s.q().getGrant(ctx, s, id)
}

// GetGrant returns the grant or NotFound.
func (tx *Tx) GetGrant(ctx context.Context, id string) (Grant, error) {
	return tx.q().getGrant(ctx, tx.s, id)
}

func (q querier) getGrant(ctx context.Context, s *Store, id string) (Grant, error) {
	g, err := scanGrant(q.queryRow(ctx, grantSelect+" WHERE g.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Grant{}, notFound("grant", id)
	}
	return g, s.dbErr(err, "read grant")
}

// ListGrants returns one page of the grants f selects, oldest first, and
// the token of the next page. A principal, database or table f names that
// does not exist is NotFound.
func (s *Store) ListGrants(ctx context.Context, f GrantFilter, p Page) ([]Grant, string, error) {
	return s.q().listGrants(ctx, s, f, p)
}

// ListGrants is Store.ListGrants inside the transaction.
func (tx *Tx) ListGrants(ctx context.Context, f GrantFilter, p Page) ([]Grant, string, error) {
	return tx.q().listGrants(ctx, tx.s, f, p)
}

func (q querier) listGrants(ctx context.Context, s *Store, f GrantFilter, p Page) ([]Grant, string, error) {
	var conds []string
	var args []any
	list := "grants"
	if f.Principal != nil {
		pr, err := q.getPrincipal(ctx, s, *f.Principal)
		if err != nil {
			return nil, "", err
		}
		conds, args = append(conds, "g.principal_id = ?"), append(args, pr.ID)
		list += ":" + string(pr.Kind) + ":" + pr.Name
	}
	switch {
	case f.Table != "":
		if f.Database == "" {
			return nil, "", apierr.New(apierr.InvalidArgument, "listing grants on table %q needs its database", f.Table)
		}
		id, err := q.tableID(ctx, s, TableRef{Database: f.Database, Name: f.Table})
		if err != nil {
			return nil, "", err
		}
		conds, args = append(conds, "g.table_id = ?"), append(args, id)
		list += ":" + f.Database + "." + f.Table
	case f.Database != "":
		id, err := q.databaseID(ctx, s, f.Database)
		if err != nil {
			return nil, "", err
		}
		conds, args = append(conds, "g.database_id = ?"), append(args, id)
		list += ":" + f.Database
	}
	return pageByKey(ctx, q, s, list, p, grantSelect, "g.id", conds, args, scanGrant, func(g Grant) string { return g.ID })
}

// pageByKey lists one page of rows ordered by the unique column idCol.
func pageByKey[T any](ctx context.Context, q querier, s *Store, list string, p Page, query, idCol string,
	conds []string, args []any, scan func(scanner) (T, error), id func(T) string) ([]T, string, error) {
	cur, err := p.open(list, 1)
	if err != nil {
		return nil, "", err
	}
	after := cur.after
	if after != nil {
		conds, args = append(conds, idCol+" > ?"), append(args, after[0])
	}
	out, err := queryAll(ctx, q, scan, query+where(conds)+" ORDER BY "+idCol+" LIMIT ?", append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list "+strings.SplitN(list, ":", 2)[0])
	}
	out, next := endPage(cur, out, func(last T) []string { return []string{id(last)} })
	return out, next, nil
}

// DeleteGrant removes the grant and its row filter if its version is still
// version (a policy change).
func (tx *Tx) DeleteGrant(ctx context.Context, id string, version int64) error {
	if version <= 0 {
		return apierr.New(apierr.InvalidArgument, "deleting grant %q needs the version you read", id)
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	var filterID sql.NullString
	err := tx.q().queryRow(ctx, "SELECT row_filter_id FROM grants WHERE id = ?", id).Scan(&filterID)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("grant", id)
	}
	if err != nil {
		return tx.s.dbErr(err, "read grant")
	}
	res, err := tx.q().exec(ctx, "DELETE FROM grants WHERE id = ? AND version = ?", id, version)
	if err := tx.checkVersioned(ctx, res, err, "grant", id, version, "SELECT version FROM grants WHERE id = ?", id); err != nil {
		return err
	}
	if filterID.Valid {
		if _, err := tx.q().exec(ctx, "DELETE FROM row_filters WHERE id = ?", filterID.String); err != nil {
			return tx.s.dbErr(err, "delete row filter")
		}
	}
	return nil
}

// RevokeGrants removes every grant of principal on sec whose column list is
// exactly columns (nil: grants on every column), whatever their row filter,
// with their row filters (a policy change), and returns how many it
// removed. None is NotFound.
func (tx *Tx) RevokeGrants(ctx context.Context, principal PrincipalRef, sec Securable, columns []string) (int, error) {
	if err := principal.check(); err != nil {
		return 0, err
	}
	if err := sec.check(); err != nil {
		return 0, err
	}
	cols, err := canonicalColumns(columns)
	if err != nil {
		return 0, err
	}
	encCols, err := encodeColumns(cols)
	if err != nil {
		return 0, err
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return 0, err
	}
	q := tx.q()
	pid, err := tx.principalID(ctx, principal)
	if err != nil {
		return 0, err
	}
	dbID, tableID, err := q.securableIDs(ctx, tx.s, sec)
	if err != nil {
		return 0, err
	}
	w, args := matchGrants(pid, dbID, tableID, sec.Kind, encCols)
	type hit struct{ id, filter string }
	hits, err := queryAll(ctx, q, func(sc scanner) (hit, error) {
		var h hit
		var f sql.NullString
		err := sc.Scan(&h.id, &f)
		h.filter = f.String
		return h, err
	}, "SELECT g.id, g.row_filter_id FROM grants g"+w, args...)
	if err != nil {
		return 0, tx.s.dbErr(err, "read grants")
	}
	if len(hits) == 0 {
		return 0, apierr.New(apierr.NotFound, "%s %q has no grant on %s%s to revoke", principal.Kind, principal.Name, sec, columnsPhrase(sec, cols))
	}
	var ids, filters []string
	for _, h := range hits {
		ids = append(ids, h.id)
		if h.filter != "" {
			filters = append(filters, h.filter)
		}
	}
	if _, err := q.exec(ctx, "DELETE FROM grants WHERE id IN ("+placeholders(len(ids))+")", anys(ids)...); err != nil {
		return 0, tx.s.dbErr(err, "delete grants")
	}
	if len(filters) > 0 {
		if _, err := q.exec(ctx, "DELETE FROM row_filters WHERE id IN ("+placeholders(len(filters))+")", anys(filters)...); err != nil {
			return 0, tx.s.dbErr(err, "delete row filters")
		}
	}
	return len(ids), nil
}

// columnsPhrase describes the column list of a grant on sec in messages.
func columnsPhrase(sec Securable, cols []string) string {
	switch {
	case sec.Kind != SecurableTable:
		return ""
	case cols == nil:
		return " on every column"
	}
	return " on exactly the columns (" + strings.Join(cols, ", ") + ")"
}

// deleteOrphanRowFilters removes row filters no grant uses any more (after
// grants went with their principal).
func (tx *Tx) deleteOrphanRowFilters(ctx context.Context) error {
	_, err := tx.q().exec(ctx, "DELETE FROM row_filters WHERE NOT EXISTS (SELECT 1 FROM grants g WHERE g.row_filter_id = row_filters.id)")
	return tx.s.dbErr(err, "delete unused row filters")
}
