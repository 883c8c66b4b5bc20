package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// maxFunctionLen is the longest mask function name.
const maxFunctionLen = 64

// Mask replaces a column's values with a function of them, for one
// principal or for everyone.
type Mask struct {
	ID       string
	Database string
	Table    string
	Column   string
	// Principal is who the mask applies to; nil is everyone.
	Principal *PrincipalRef
	// Function names the mask function, e.g. redact, hash, last4; Args are
	// its integer arguments. The store does not interpret either.
	Function  string
	Args      []int64
	Version   int64
	CreatedAt time.Time
}

const maskSelect = `SELECT m.id, d.name, t.name, m.column_name, p.kind, p.name, m.function_name, m.args, m.version, m.created_at
	FROM masks m
	JOIN catalog_tables t ON t.id = m.table_id
	JOIN catalog_databases d ON d.id = t.database_id
	LEFT JOIN principals p ON p.id = m.principal_id`

func scanMask(sc scanner) (Mask, error) {
	var m Mask
	var kind, name sql.NullString
	var args string
	var created int64
	if err := sc.Scan(&m.ID, &m.Database, &m.Table, &m.Column, &kind, &name, &m.Function, &args, &m.Version, &created); err != nil {
		return Mask{}, err
	}
	if kind.Valid {
		m.Principal = &PrincipalRef{Kind: PrincipalKind(kind.String), Name: name.String}
	}
	m.CreatedAt = fromMicros(created)
	var err error
	m.Args, err = decodeArgs("mask arguments", args)
	return m, err
}

func checkFunction(field, f string) error {
	if err := checkName(field, f); err != nil {
		return err
	}
	if len(f) > maxFunctionLen {
		return apierr.New(apierr.InvalidArgument, "%s name %q is longer than %d bytes", field, f, maxFunctionLen)
	}
	return nil
}

// encodeArgs stores integer arguments as a JSON array.
func encodeArgs(args []int64) string {
	if len(args) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(args)
	return string(b)
}

// decodeArgs reads a JSON array written by encodeArgs; empty is nil.
func decodeArgs(field, s string) ([]int64, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var out []int64
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "store: stored %s are not a JSON array of integers", field)
	}
	return out, nil
}

// principalMatch is the condition (and argument) matching the column col
// against an optional principal id: NULL for everyone.
func principalMatch(col, id string) (string, []any) {
	if id == "" {
		return col + " IS NULL", nil
	}
	return col + " = ?", []any{id}
}

func maskLabel(db, table, column string, p *PrincipalRef) string {
	s := db + "." + table + "." + column
	if p == nil {
		return s + " for everyone"
	}
	return s + " for " + string(p.Kind) + " " + p.Name
}

// SetMask adds the mask on (table, column, principal) or replaces its
// function and arguments (a policy change), and returns it. Database,
// Table, Column and Function are required; the column must exist.
func (tx *Tx) SetMask(ctx context.Context, m Mask) (Mask, error) {
	ref := TableRef{Database: m.Database, Name: m.Table}
	if err := ref.check(); err != nil {
		return Mask{}, err
	}
	if err := checkName("column", m.Column); err != nil {
		return Mask{}, err
	}
	if m.Principal != nil {
		if err := m.Principal.check(); err != nil {
			return Mask{}, err
		}
	}
	if err := checkFunction("mask function", m.Function); err != nil {
		return Mask{}, err
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Mask{}, err
	}
	q := tx.q()
	tableID, err := tx.tableID(ctx, ref)
	if err != nil {
		return Mask{}, err
	}
	if err := q.checkColumnsExist(ctx, tx.s, tableID, ref.label(), []string{m.Column}); err != nil {
		return Mask{}, err
	}
	pid := ""
	if m.Principal != nil {
		if pid, err = tx.principalID(ctx, *m.Principal); err != nil {
			return Mask{}, err
		}
	}
	// The bump serialises policy writers, so update-then-insert cannot race.
	at := micros(now())
	pm, pargs := principalMatch("principal_id", pid)
	res, err := q.exec(ctx, "UPDATE masks SET function_name = ?, args = ?, version = version + 1, updated_at = ? WHERE table_id = ? AND column_name = ? AND "+pm,
		append([]any{m.Function, encodeArgs(m.Args), at, tableID, m.Column}, pargs...)...)
	if err != nil {
		return Mask{}, tx.s.writeErr(err, "mask", maskLabel(m.Database, m.Table, m.Column, m.Principal))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Mask{}, tx.s.dbErr(err, "update mask")
	}
	if n == 0 {
		if _, err := q.exec(ctx, `INSERT INTO masks (id, table_id, column_name, principal_id, function_name, args, comment,
			version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '', 1, ?, ?)`,
			newID(), tableID, m.Column, nullString(pid), m.Function, encodeArgs(m.Args), at, at); err != nil {
			return Mask{}, tx.s.writeErr(err, "mask", maskLabel(m.Database, m.Table, m.Column, m.Principal))
		}
	}
	out, err := scanMask(q.queryRow(ctx, maskSelect+" WHERE m.table_id = ? AND m.column_name = ? AND "+
		"m."+pm, append([]any{tableID, m.Column}, pargs...)...))
	return out, tx.s.dbErr(err, "read mask")
}

// DropMask removes the mask on (table, column, principal; nil for the mask
// on everyone), a policy change, or returns NotFound.
func (tx *Tx) DropMask(ctx context.Context, database, table, column string, principal *PrincipalRef) error {
	ref := TableRef{Database: database, Name: table}
	if err := ref.check(); err != nil {
		return err
	}
	if principal != nil {
		if err := principal.check(); err != nil {
			return err
		}
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	tableID, err := tx.tableID(ctx, ref)
	if err != nil {
		return err
	}
	pid := ""
	if principal != nil {
		if pid, err = tx.principalID(ctx, *principal); err != nil {
			return err
		}
	}
	pm, pargs := principalMatch("principal_id", pid)
	res, err := tx.q().exec(ctx, "DELETE FROM masks WHERE table_id = ? AND column_name = ? AND "+pm,
		append([]any{tableID, column}, pargs...)...)
	if err != nil {
		return tx.s.dbErr(err, "delete mask")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return apierr.New(apierr.NotFound, "no mask on %s", maskLabel(database, table, column, principal))
	}
	return nil
}

// ListMasks returns one page of the table's masks ordered by column, and the
// token of the next page. A missing table is NotFound.
func (s *Store) ListMasks(ctx context.Context, database, table string, p Page) ([]Mask, string, error) {
	return s.q().listMasks(ctx, s, &TableRef{Database: database, Name: table}, p)
}

// ListMasks is Store.ListMasks inside the transaction.
func (tx *Tx) ListMasks(ctx context.Context, database, table string, p Page) ([]Mask, string, error) {
	return tx.q().listMasks(ctx, tx.s, &TableRef{Database: database, Name: table}, p)
}

// ListAllMasks returns one page of every mask, ordered by table id, column
// and id, and the token of the next page.
func (s *Store) ListAllMasks(ctx context.Context, p Page) ([]Mask, string, error) {
	return s.q().listMasks(ctx, s, nil, p)
}

func (q querier) listMasks(ctx context.Context, s *Store, table *TableRef, p Page) ([]Mask, string, error) {
	list := "masks"
	var conds []string
	var args []any
	if table != nil {
		id, err := q.tableID(ctx, s, *table)
		if err != nil {
			return nil, "", err
		}
		conds, args = append(conds, "m.table_id = ?"), append(args, id)
		list += ":" + id
	}
	cur, err := p.open(list, 3)
	if err != nil {
		return nil, "", err
	}
	after := cur.after
	if after != nil {
		conds = append(conds, "(m.table_id > ? OR (m.table_id = ? AND (m.column_name > ? OR (m.column_name = ? AND m.id > ?))))")
		args = append(args, after[0], after[0], after[1], after[1], after[2])
	}
	type row struct {
		Mask
		tableID string
	}
	out, err := queryAll(ctx, q, func(sc scanner) (row, error) {
		var r row
		var err error
		r.Mask, err = scanMask(tableIDScanner{sc, &r.tableID})
		return r, err
	}, "SELECT m.table_id, "+maskSelect[len("SELECT "):]+where(conds)+" ORDER BY m.table_id, m.column_name, m.id LIMIT ?", append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list masks")
	}
	out, next := endPage(cur, out, func(last row) []string { return []string{last.tableID, last.Column, last.ID} })
	masks := make([]Mask, len(out))
	for i, r := range out {
		masks[i] = r.Mask
	}
	return masks, next, nil
}

// tableIDScanner scans a leading table id column into id and the rest into
// the destinations its caller gives.
type tableIDScanner struct {
	sc scanner
	id *string
}

func (t tableIDScanner) Scan(dest ...any) error {
	return t.sc.Scan(append([]any{t.id}, dest...)...)
}
